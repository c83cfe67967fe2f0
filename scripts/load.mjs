// Load figures for the API (issue 7): latency of one 64×64 image with the model loaded, then 200
// concurrent clients. Starts `creativeai serve` as its own process (so its memory is measured alone)
// and prints a markdown table; --json <file> keeps the numbers.
// Usage: npm run build && node scripts/load.mjs [--threads 2] [--duration 20] [--max-queue 512] [--json docs/results/load.json]
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import { parseArgs } from 'node:util';

import autocannon from 'autocannon';

const { values } = parseArgs({
  options: {
    threads: { type: 'string', default: '2' },
    duration: { type: 'string', default: '20' },
    connections: { type: 'string', default: '200' },
    model: { type: 'string', default: 'tag-gan-anime' },
    text: { type: 'string', default: 'blue hair red eyes' },
    'max-queue': { type: 'string', default: '512' },
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

${out.machine}; model ${values.model}; --max-queue ${values['max-queue']}.`);
if (values.json) fs.writeFileSync(values.json, `${JSON.stringify(out, null, 2)}\n`);
if (after !== 200 || health !== 200 || result.errors > 0 || ok === 0) process.exitCode = 1;
