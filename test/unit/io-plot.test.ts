// Line charts: 1-2-5 ticks, SVG structure and escaping, skipped points, PNG size and the plot command.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';

import sharp from 'sharp';

import { plotCommand } from '../../src/cli/plot.js';
import { formatTicks, lineChartSvg, niceTicks, savePlot } from '../../src/io/plot.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cai-plot-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));

/** Fails unless every element closes in order and the document is one <svg> element. */
function assertBalanced(svg: string): void {
  const stack: string[] = [];
  let roots = 0;
  for (const m of svg.matchAll(/<(\/?)([a-zA-Z][\w:-]*)[^>]*?(\/?)>/g)) {
    const [, close, name, selfClose] = m;
    if (close) assert.equal(stack.pop(), name, `</${name}> closes the wrong element`);
    else if (!selfClose) {
      if (stack.length === 0) roots++;
      stack.push(name!);
    } else assert.ok(stack.length > 0, `<${name}/> outside <svg>`);
  }
  assert.deepEqual(stack, [], 'unclosed elements');
  assert.equal(roots, 1);
  assert.match(svg.trim(), /^<svg [^>]*xmlns="http:\/\/www\.w3\.org\/2000\/svg"[\s\S]*<\/svg>$/);
  // No stray markup characters in text: every '&' starts an entity.
  assert.doesNotMatch(svg, /&(?!(amp|lt|gt|quot|apos);)/);
}

const count = (s: string, re: RegExp): number => [...s.matchAll(re)].length;
const isStep125 = (step: number): boolean => {
  const m = step / 10 ** Math.floor(Math.log10(step) + 1e-9);
  return [1, 2, 5].some((k) => Math.abs(m - k) < 1e-9);
};

test('niceTicks: 1-2-5 steps covering the range', () => {
  assert.deepEqual(niceTicks(0, 1).ticks, [0, 0.2, 0.4, 0.6, 0.8, 1]);
  assert.deepEqual(niceTicks(0, 100, 4).ticks, [0, 50, 100]);
  const neg = niceTicks(-3.7, -0.2);
  assert.ok(isStep125(neg.step));
  assert.ok(neg.min <= -3.7 && neg.max >= -0.2);
  assert.deepEqual(neg.ticks, [-4, -3, -2, -1, 0]);
  const across = niceTicks(-0.013, 0.047, 6);
  assert.deepEqual(across.ticks, [-0.02, -0.01, 0, 0.01, 0.02, 0.03, 0.04, 0.05]);
  assert.ok(!across.ticks.some((t) => Object.is(t, -0)));
  for (const [a, b] of [
    [0.6, 1.4],
    [1e-7, 3e-7],
    [12345, 98765],
    [0.999, 1.001],
  ] as const) {
    const t = niceTicks(a, b);
    assert.ok(isStep125(t.step), `step ${t.step} for [${a}, ${b}]`);
    assert.ok(t.min <= a && t.max >= b && t.ticks.length >= 2 && t.ticks.length <= 12, `[${a}, ${b}]: ${t.ticks}`);
  }
});

test('niceTicks: a single value or a constant series still gets a range', () => {
  const z = niceTicks(0, 0);
  assert.ok(z.min < 0 && z.max > 0 && z.ticks.includes(0));
  const c = niceTicks(5, 5);
  assert.ok(c.min < 5 && c.max > 5 && c.ticks.length >= 2);
  assert.ok(niceTicks(-2, -2).ticks.includes(-2));
  assert.throws(() => niceTicks(0, NaN), /finite/);
});

test('formatTicks: decimals from the step, exponents for tiny or huge axes', () => {
  assert.deepEqual(formatTicks([0, 0.2, 0.4], 0.2), ['0', '0.2', '0.4']);
  assert.deepEqual(formatTicks([0, 500, 1000], 500), ['0', '500', '1000']);
  assert.deepEqual(formatTicks([1e-5, 1.5e-5, 2e-5], 5e-6), ['1e-5', '1.5e-5', '2e-5']);
  assert.deepEqual(formatTicks([0, 2e6, 4e6], 2e6), ['0', '2e6', '4e6']);
});

test('SVG: balanced, one line per non-empty series, escaped legend names, distinct colours', () => {
  const svg = lineChartSvg({
    title: 'loss <&> "curves"',
    xLabel: 'step',
    yLabel: 'loss',
    series: [
      {
        name: 'a<b&c',
        points: [
          [0, 1],
          [1, 0.5],
          [2, 0.25],
        ],
      },
      {
        name: 'loss/G',
        points: [
          [0, 2],
          [2, 1],
        ],
      },
      { name: 'empty', points: [] },
    ],
  });
  assertBalanced(svg);
  assert.equal(count(svg, /<(path|polyline)\b/g), 2);
  assert.ok(svg.includes('a&lt;b&amp;c'));
  assert.ok(!svg.includes('a<b&c'));
  assert.ok(svg.includes('loss &lt;&amp;&gt; &quot;curves&quot;'));
  assert.ok(svg.includes('empty (no data)'));
  const colours = [...svg.matchAll(/<path [^>]*stroke="(#[0-9a-f]{6})"/g)].map((m) => m[1]);
  assert.equal(new Set(colours).size, 2);
  // 1-2-5 y ticks of [0.25, 2]: 0 … 2 by 0.5 (or 0.2 / 1).
  assert.match(svg, />0\.5<\/text>|>0\.4<\/text>|>1<\/text>/);
});

test('SVG: NaN and Infinity points are skipped and counted in the legend', () => {
  const svg = lineChartSvg({
    series: [
      {
        name: 'loss/D',
        points: [
          [0, 1],
          [1, NaN],
          [2, Infinity],
          [NaN, 3],
          [4, 0.5],
        ],
      },
    ],
  });
  assertBalanced(svg);
  assert.ok(svg.includes('loss/D (3 skipped)'));
  assert.ok(!/NaN|Infinity/.test(svg));
  const d = /<path [^>]*d="([^"]+)"/.exec(svg)![1]!;
  assert.equal(count(d, /[ML]/g), 2);
});

test('SVG: empty charts, single points, constant series, smoothing and log scale', () => {
  for (const series of [[], [{ name: 'x', points: [] }], [{ name: 'x', points: [[1, NaN]] as [number, number][] }]]) {
    const svg = lineChartSvg({ series });
    assertBalanced(svg);
    assert.match(svg, /No series to plot|No finite data points/);
    assert.equal(count(svg, /<(path|polyline)\b/g), 0);
  }
  const one = lineChartSvg({ series: [{ name: 'p', points: [[3, 7]] }] });
  assertBalanced(one);
  assert.equal(count(one, /<circle\b/g), 1);
  const flat = lineChartSvg({ series: [{ name: 'c', points: [0, 1, 2, 3].map((x): [number, number] => [x, 2]) }] });
  assertBalanced(flat);
  assert.ok(!/NaN/.test(flat));

  const noisy = Array.from({ length: 50 }, (_, i): [number, number] => [i, 1 + (i % 2)]);
  const smooth = lineChartSvg({ series: [{ name: 's', points: noisy }], smooth: 0.9 });
  assertBalanced(smooth);
  assert.equal(count(smooth, /<path\b/g), 1);
  assert.equal(count(smooth, /<polyline class="raw"/g), 1);
  assert.throws(() => lineChartSvg({ series: [], smooth: 1 }), /smooth/);

  const log = lineChartSvg({
    logY: true,
    series: [
      {
        name: 'l',
        points: [
          [0, 1000],
          [1, 10],
          [2, 0.01],
          [3, 0],
          [4, -1],
        ],
      },
    ],
  });
  assertBalanced(log);
  assert.ok(log.includes('l (2 skipped)'));
  for (const label of ['0.01', '1', '100']) assert.ok(log.includes(`>${label}</text>`), label);
});

test('savePlot: PNG at the requested size, SVG text, other extensions refused', async () => {
  const o = {
    series: [
      {
        name: 'loss/D',
        points: [
          [0, 1],
          [10, 0.3],
          [20, 0.2],
        ] as [number, number][],
      },
    ],
  };
  const png = path.join(dir, 'chart.png');
  await savePlot(png, { ...o, width: 500, height: 300, title: 'a<b' });
  const meta = await sharp(png).metadata();
  assert.equal(meta.format, 'png');
  assert.equal(meta.width, 500);
  assert.equal(meta.height, 300);
  const svgFile = path.join(dir, 'sub', 'chart.svg');
  await savePlot(svgFile, o);
  assertBalanced(fs.readFileSync(svgFile, 'utf8'));
  await assert.rejects(savePlot(path.join(dir, 'chart.jpg'), o), /\.png or \.svg/);
  assert.throws(() => lineChartSvg({ ...o, width: 10 }), /width/);
});

test('plot command: PNG from a run, several runs compared, clear errors', async () => {
  const run = (name: string, lines: string[]): string => {
    const d = path.join(dir, name);
    fs.mkdirSync(d, { recursive: true });
    fs.writeFileSync(path.join(d, 'metrics.jsonl'), lines.join('\n') + '\n');
    return d;
  };
  const a = run('run-a', [
    '{"step":1,"time":1,"loss/D":1.4,"loss/G":0.7,"lr":0.0002}',
    '{"step":25,"time":2,"loss/D":1.2,"loss/G":null,"lr":0.0002}',
    '{"step":50,"time":3,"loss/D":1.1,"loss/G":1.3,"lr":0.0002}',
    '{"step":75,"ti', // a torn last line, as while a run is writing
  ]);
  const b = run('run-b', ['{"step":1,"time":1,"loss/D":1.5}', '{"step":50,"time":2,"loss/D":0.9}']);
  const log = console.log;
  const err = console.error;
  console.log = console.error = () => {};
  try {
    const out = path.join(dir, 'losses.png');
    await plotCommand(['--run', a, '--out', out, '--smooth', '0.6', '--width', '480', '--height', '270']);
    const meta = await sharp(out).metadata();
    assert.deepEqual([meta.format, meta.width, meta.height], ['png', 480, 270]);

    const svgOut = path.join(dir, 'compare.svg');
    await plotCommand(['--runs', `${a},${b}`, '--keys', 'loss/D', '--out', svgOut]);
    const svg = fs.readFileSync(svgOut, 'utf8');
    assertBalanced(svg);
    assert.equal(count(svg, /<path\b/g), 2);
    assert.ok(svg.includes('>run-a<') && svg.includes('>run-b<'));

    await assert.rejects(
      plotCommand(['--run', a, '--keys', 'loss/X', '--out', out]),
      (e: Error) => /unknown metric 'loss\/X'/.test(e.message) && /loss\/D, loss\/G, lr/.test(e.message),
    );
    await assert.rejects(plotCommand(['--runs', `${a},${b}`, '--keys', 'loss/G', '--out', svgOut]), /run-b.*loss\/D/);
    await assert.rejects(plotCommand(['--run', path.join(dir, 'nope'), '--out', out]), /no metrics\.jsonl/);

    // Against images seen: a run directory's come from its newest checkpoint (batch 64 here, 1,000
    // images before it from another model); a record's from its evaluations. Both lines end at
    // 4,200 images: the axis reaches them and no further.
    const c = run('run-c', ['{"step":10,"time":1,"eval/fid":3}', '{"step":50,"time":2,"eval/fid":2}']);
    fs.mkdirSync(path.join(c, 'checkpoints'));
    fs.writeFileSync(
      path.join(c, 'checkpoints', 'step-00000050.json'),
      JSON.stringify({ step: 50, state: { imagesSeen: 3200, seconds: 1 } }),
    );
    fs.writeFileSync(path.join(c, 'run.json'), JSON.stringify({ startedFrom: { file: 'm', step: 9, images: 1000 } }));
    const record = path.join(dir, 'old-run.json');
    fs.writeFileSync(
      record,
      JSON.stringify({
        run: 'old-run',
        evals: [
          { step: 100, images: 1600, 'eval/fid': 4 },
          { step: 262, images: 4200, 'eval/fid': 1.5 },
        ],
      }),
    );
    await plotCommand(['--runs', `${c},${record}`, '--keys', 'eval/fid', '--x', 'images', '--out', svgOut]);
    const byImages = fs.readFileSync(svgOut, 'utf8');
    assert.equal(count(byImages, /<path\b/g), 2);
    assert.ok(byImages.includes('>run-c<') && byImages.includes('>old-run<') && byImages.includes('>images seen<'));
    const xTicks = (svgText: string): number[] =>
      [...svgText.matchAll(/text-anchor="middle">([\d.]+)</g)].map((m) => Number(m[1]));
    // The lines span 1,640 (run-c's step 10: 640 + 1,000 before) to 4,200 images.
    assert.ok(Math.max(...xTicks(byImages)) >= 4000 && Math.max(...xTicks(byImages)) <= 4500, String(xTicks(byImages)));
    assert.ok(Math.min(...xTicks(byImages)) >= 1000, String(xTicks(byImages)));
    // Against steps the same runs span 10 to 262.
    await plotCommand(['--runs', `${c},${record}`, '--keys', 'eval/fid', '--out', svgOut]);
    const bySteps = fs.readFileSync(svgOut, 'utf8');
    assert.ok(bySteps.includes('>step<'));
    assert.ok(Math.max(...xTicks(bySteps)) <= 300, String(xTicks(bySteps)));
    // A record alone, and the errors: no checkpoint to count images by, an unknown --x, not a record.
    await plotCommand(['--run', record, '--keys', 'eval/fid', '--x', 'images', '--out', out]);
    await assert.rejects(
      plotCommand(['--run', a, '--keys', 'loss/D', '--x', 'images', '--out', out]),
      /no checkpoint recording the images.*--x step/,
    );
    await assert.rejects(plotCommand(['--run', a, '--x', 'epochs', '--out', out]), /--x must be step or images/);
    // A run whose checkpoint manifest is unreadable says so, not that it has no checkpoint.
    fs.writeFileSync(path.join(c, 'checkpoints', 'step-00000060.json'), '{"step": 60,');
    await assert.rejects(
      plotCommand(['--run', c, '--keys', 'eval/fid', '--x', 'images', '--out', out]),
      (e: Error) => e instanceof SyntaxError && !/--x step/.test(e.message),
    );
    fs.writeFileSync(path.join(dir, 'not-a-record.json'), '{"steps": 3}');
    await assert.rejects(plotCommand(['--run', path.join(dir, 'not-a-record.json'), '--out', out]), /not a run record/);
    await assert.rejects(plotCommand(['--run', a, '--out', path.join(dir, 'x.gif')]), /\.png or \.svg/);
  } finally {
    console.log = log;
    console.error = err;
  }
});
