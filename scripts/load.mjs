// Load figures for the API (issues 7 and 21): latency of one 64×64 image with the model loaded, then
// 200 concurrent clients, then a mixed workload: light clients (one 64×64 image each) alone, and
// again while heavy clients keep the server busy with 16-image StackGAN requests (64 + 256 px); the
// light clients' latency with the heavy ones beside them, against theirs alone, is what fair
// scheduling is for. Simulated clients are told apart by X-Forwarded-For (the server trusts it here,
// as behind a proxy). Starts `creativeai serve` as its own process (so its memory is measured alone)
// and prints markdown tables; --json <file> keeps the numbers.
// Usage: npm run build && node scripts/load.mjs [--threads 2] [--duration 20] [--mixed-duration 30] [--json docs/results/load.json]
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';

import autocannon from 'autocannon';

const { values } = parseArgs({
  options: {
    threads: { type: 'string', default: '2' },
    duration: { type: 'string', default: '20' },
    connections: { type: 'string', default: '200' },
    model: { type: 'string', default: 'tag-gan-anime' },
    text: { type: 'string', default: 'blue hair red eyes' },
    'max-queue': { type: 'string', default: '4096' },
    'mixed-duration': { type: 'string', default: '30' },
    light: { type: 'string', default: '8' },
    heavy: { type: 'string', default: '4' },
    'heavy-model': { type: 'string', default: 'stackgan-cub' },
    'heavy-text': { type: 'string', default: 'this bird is red with white and has a very short beak' },
    json: { type: 'string' },
  },
});

const server = spawn(
  process.execPath,
  [
    'dist/src/cli/index.js',
    'serve',
    '--port',
    '0',
    '--max-queue',
    values['max-queue'],
    '--game-stats',
    `${os.tmpdir()}/load-game.json`,
    '--trust-proxy',
    'true',
  ],
  {
    env: { ...process.env, CREATIVEAI_THREADS: values.threads, OMP_WAIT_POLICY: 'PASSIVE' },
    stdio: ['ignore', 'inherit', 'pipe'],
  },
);
const base = await new Promise((resolve, reject) => {
  let err = '';
  server.stderr.on('data', (d) => {
    err += d.toString();
    const m = /on (http:\/\/[^/\s]+)\//.exec(err);
    if (m) resolve(m[1]);
  });
  server.on('exit', (code) => reject(new Error(`server exited with ${code}:\n${err}`)));
});
server.stderr.resume();

const body = (seed) => JSON.stringify({ model: values.model, text: values.text, seed, count: 1 });
async function generate(seed) {
  const r = await fetch(`${base}/api/generate`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: body(seed),
  });
  await r.arrayBuffer();
  return r.status;
}
async function rssMiB() {
  const text = await (await fetch(`${base}/metrics`)).text();
  const m = /^creativeai_process_resident_memory_bytes (\S+)/m.exec(text);
  return m ? Number(m[1]) / 2 ** 20 : NaN;
}
const pct = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};

// 1. One request at a time, model loaded (the first request loads it and is not counted).
await generate(0);
for (let i = 0; i < 20; i++) await generate(i); // warm-up
const single = [];
for (let i = 0; i < 200; i++) {
  const t = performance.now();
  const status = await generate(1000 + i);
  single.push(performance.now() - t);
  if (status !== 200) throw new Error(`single request answered ${status}`);
}
const rssBefore = await rssMiB();

// 2. 200 concurrent clients for `duration` seconds, each asking for one image with its own seed.
let seed = 0;
const result = await autocannon({
  url: `${base}/api/generate`,
  method: 'POST',
  headers: { 'content-type': 'application/json' },
  connections: Number(values.connections),
  duration: Number(values.duration),
  timeout: 60,
  requests: [{ setupRequest: (req) => ({ ...req, body: body(seed++) }) }],
});
const rssAfter = await rssMiB();

// 3. Mixed: light clients alone, then with heavy clients beside them.
async function client(address, request, until, log) {
  for (let i = 0; performance.now() < until; i++) {
    const t = performance.now();
    const r = await fetch(`${base}/api/generate`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-forwarded-for': address },
      body: JSON.stringify(request(i)),
    });
    await r.arrayBuffer();
    log.push({ status: r.status, ms: performance.now() - t, at: t });
    if (r.status === 429 || r.status === 503) await sleep(1000 * Number(r.headers.get('retry-after') ?? 1));
  }
}
const light = (k) => (i) => ({ model: values.model, text: values.text, seed: k * 100000 + i, count: 1 });
const heavy = (k) => (i) => ({
  model: values['heavy-model'],
  text: values['heavy-text'],
  seed: k * 100000 + i,
  count: 16,
});
async function lightClients(seconds, log) {
  const until = performance.now() + seconds * 1000;
  await Promise.all(
    Array.from({ length: Number(values.light) }, async (_, k) => {
      await sleep(k * 25); // not all in step
      await client(`10.0.1.${k + 1}`, light(k), until, log);
    }),
  );
}
async function prober(until, log) {
  while (performance.now() < until) {
    const t = performance.now();
    const r = await fetch(`${base}/healthz`);
    await r.arrayBuffer();
    log.push({ status: r.status, ms: performance.now() - t, at: t });
    await sleep(50);
  }
}
// The heavy model's first request loads it; not counted.
await fetch(`${base}/api/generate`, {
  method: 'POST',
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify(heavy(99)(0)),
});
const mixedSeconds = Number(values['mixed-duration']);
const lightAlone = [];
await lightClients(10, lightAlone);
const lightMixed = [];
const heavyLog = [];
const healthLog = [];
const mixedUntil = performance.now() + mixedSeconds * 1000;
const started = performance.now();
await Promise.all([
  ...Array.from({ length: Number(values.heavy) }, (_, k) => client(`10.0.2.${k + 1}`, heavy(k), mixedUntil, heavyLog)),
  // The light clients start once the heavy ones have filled the queue.
  sleep(2000).then(() => lightClients(mixedSeconds - 2, lightMixed)),
  prober(mixedUntil, healthLog),
]);
const mixedElapsed = (performance.now() - started) / 1000;
const summary = (log) => {
  const ok = log.filter((x) => x.status === 200).map((x) => x.ms);
  const codes = {};
  for (const x of log) codes[x.status] = (codes[x.status] ?? 0) + 1;
  return { requests: log.length, statusCodes: codes, p50Ms: pct(ok, 50), p99Ms: pct(ok, 99), maxMs: Math.max(...ok) };
};
const mixed = {
  lightClients: Number(values.light),
  heavyClients: Number(values.heavy),
  heavyRequest: `${values['heavy-model']}, 16 images`,
  seconds: mixedSeconds,
  lightAlone: summary(lightAlone),
  light: summary(lightMixed),
  heavy: {
    ...summary(heavyLog),
    imagesPerSecond: (heavyLog.filter((x) => x.status === 200).length * 16) / mixedElapsed,
  },
  healthz: summary(healthLog),
};
mixed.lightP99Ratio = mixed.light.p99Ms / mixed.lightAlone.p99Ms;

const after = await generate(424242);
const health = (await fetch(`${base}/healthz`)).status;
server.kill('SIGTERM');

const codes = { ...result.statusCodeStats };
const ok = codes['200']?.count ?? 0;
const answered = Object.values(codes).reduce((a, c) => a + c.count, 0);
const out = {
  date: new Date().toISOString().slice(0, 10),
  machine: `${os.cpus().length} cores (${os.cpus()[0]?.model ?? '?'}), libtorch threads ${values.threads}`,
  model: values.model,
  maxQueueImages: Number(values['max-queue']),
  single: { requests: single.length, p50Ms: pct(single, 50), p99Ms: pct(single, 99) },
  concurrent: {
    connections: Number(values.connections),
    seconds: Number(values.duration),
    requests: answered,
    statusCodes: Object.fromEntries(Object.entries(codes).map(([k, v]) => [k, v.count])),
    errors: result.errors,
    timeouts: result.timeouts,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    imagesPerSecond: ok / result.duration,
  },
  memory: { rssBeforeMiB: rssBefore, rssAfterMiB: rssAfter },
  mixed,
  afterwards: { generate: after, healthz: health },
};
const f = (x) => x.toFixed(1);
console.log(`
| measure | value |
| --- | --- |
| one image, one client: p50 / p99 | ${f(out.single.p50Ms)} ms / ${f(out.single.p99Ms)} ms |
| ${out.concurrent.connections} concurrent clients, ${out.concurrent.seconds} s: requests answered | ${answered} (${Object.entries(
  out.concurrent.statusCodes,
)
  .map(([k, v]) => `${v}× ${k}`)
  .join(', ')}; ${result.errors} errors, ${result.timeouts} timeouts) |
| ${out.concurrent.connections} concurrent: p50 / p99 latency | ${out.concurrent.p50Ms} ms / ${out.concurrent.p99Ms} ms |
| ${out.concurrent.connections} concurrent: images/s | ${f(out.concurrent.imagesPerSecond)} |
| server memory (RSS) before / after | ${f(rssBefore)} MiB / ${f(rssAfter)} MiB |
| afterwards: generate / healthz | ${after} / ${health} |

${out.machine}; model ${values.model}; --max-queue ${values['max-queue']}.

Mixed workload: ${mixed.lightClients} light clients (${values.model}, 1 image, one request at a time) and ${mixed.heavyClients} heavy clients (${mixed.heavyRequest}, one at a time, no pause), ${mixed.seconds} s.

| clients | requests (status) | p50 | p99 | max |
| --- | --- | --- | --- | --- |
${[
  ['light, alone (10 s)', mixed.lightAlone],
  ['light, beside heavy', mixed.light],
  ['heavy', mixed.heavy],
  ['GET /healthz, beside both', mixed.healthz],
]
  .map(
    ([name, m]) =>
      `| ${name} | ${m.requests} (${Object.entries(m.statusCodes)
        .map(([k, v]) => `${v}× ${k}`)
        .join(', ')}) | ${f(m.p50Ms)} ms | ${f(m.p99Ms)} ms | ${f(m.maxMs)} ms |`,
  )
  .join('\n')}

Light p99 beside heavy / alone: ${mixed.lightP99Ratio.toFixed(2)}×; heavy images/s: ${f(mixed.heavy.imagesPerSecond)}.`);
if (values.json) fs.writeFileSync(values.json, `${JSON.stringify(out, null, 2)}\n`);
if (after !== 200 || health !== 200 || result.errors > 0 || ok === 0) process.exitCode = 1;
if (mixed.light.p99Ms >= 1000) {
  console.log(`light requests' p99 beside heavy ones is ${f(mixed.light.p99Ms)} ms, over the 1 s target`);
  process.exitCode = 1;
}
