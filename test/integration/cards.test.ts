// The model cards' numbers, the README's model table and the tables of docs/results.md come from the
// evaluation and benchmark files under docs/results/ (`creativeai results`): the committed ones must
// agree with their files, and a changed file must change them.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';

import { planResults } from '../../src/cli/results.js';
import { cardMetrics } from '../../src/eval/card-metrics.js';
import { cardTraining } from '../../src/eval/card-training.js';
import { renderTable } from '../../src/eval/result-tables.js';
import { summarizeRun, type RunSummary } from '../../src/eval/run-summary.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cai-cards-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('model cards written from evaluation files', () => {
  test('every committed card and the README table agree with their evaluation files', async () => {
    const plan = await planResults({
      models: path.join(root, 'models'),
      readme: path.join(root, 'README.md'),
      doc: path.join(root, 'docs', 'results.md'),
      root,
    });
    assert.deepEqual(
      plan.changed.map((c) => path.relative(root, c.file)),
      [],
      'run `node dist/src/cli/index.js results` after an evaluation or a benchmark, and commit what it writes',
    );
    // Every shipped model has a card with evaluations.
    // (A model's image → latent encoder, <name>.encoder.safetensors, is part of that model.)
    for (const f of fs
      .readdirSync(path.join(root, 'models'))
      .filter((x) => x.endsWith('.safetensors') && !x.endsWith('.encoder.safetensors'))) {
      const card = path.join(root, 'models', f.replace(/\.safetensors$/, '.card.json'));
      assert.ok(fs.existsSync(card), `${f} has no card`);
      const c = JSON.parse(fs.readFileSync(card, 'utf8')) as { evaluations?: unknown[] };
      assert.ok((c.evaluations ?? []).length > 0, `${card} names no evaluation file`);
    }
  });

  test('a changed evaluation file changes the card and the README; a missing result is an error', async () => {
    // A copy of the repository's cards, README and one evaluation file, with R-precision changed.
    const models = path.join(tmp, 'models');
    fs.mkdirSync(path.join(tmp, 'docs', 'results'), { recursive: true });
    fs.mkdirSync(models);
    fs.copyFileSync(
      path.join(root, 'models', 'gan-int-cls-cub.card.json'),
      path.join(models, 'gan-int-cls-cub.card.json'),
    );
    fs.copyFileSync(path.join(root, 'README.md'), path.join(tmp, 'README.md'));
    // Tables also read the directions shipped beside a model, and the model files themselves (the
    // card's training facts, the table of early models).
    for (const f of fs
      .readdirSync(path.join(root, 'models'))
      .filter((x) => x.endsWith('.directions.json') || (x.endsWith('.safetensors') && !x.includes('.encoder.'))))
      fs.symlinkSync(path.join(root, 'models', f), path.join(models, f));
    const evalFile = 'docs/results/gan-int-cls-cub-eval.json';
    const r = JSON.parse(fs.readFileSync(path.join(root, evalFile), 'utf8')) as { rprec: { mean: number } };
    r.rprec.mean = 0.0731;
    fs.writeFileSync(path.join(tmp, evalFile), JSON.stringify(r));
    fs.copyFileSync(path.join(root, 'docs', 'results.md'), path.join(tmp, 'docs', 'results.md'));
    for (const f of fs.readdirSync(path.join(root, 'docs', 'results')))
      if (!fs.existsSync(path.join(tmp, 'docs', 'results', f)))
        fs.cpSync(path.join(root, 'docs', 'results', f), path.join(tmp, 'docs', 'results', f), { recursive: true });
    const plan = await planResults({
      models,
      readme: path.join(tmp, 'README.md'),
      doc: path.join(tmp, 'docs', 'results.md'),
      root: tmp,
    });
    const card = plan.changed.find((c) => c.file.endsWith('gan-int-cls-cub.card.json'));
    assert.ok(card, 'the card is rewritten');
    assert.match(card.text, /"value": "7\.3% ± 0\.6"/);
    const readme = plan.changed.find((c) => c.file.endsWith('README.md'));
    assert.ok(readme && /R-precision 7\.3% ± 0\.6/.test(readme.text), 'the README row is rewritten');
    const doc = plan.changed.find((c) => c.file.endsWith('results.md'));
    assert.ok(doc && /\| 7\.3% ± 0\.6 \(chance 1%\) /.test(doc.text), 'the results.md table is rewritten');
    assert.equal(plan.changed.length, 3, 'nothing else changes');

    assert.throws(
      () => cardMetrics([{ file: 'x.json', metrics: ['hair'] }], () => ({ rprec: r.rprec })),
      /x\.json has no hair result/,
    );
    assert.throws(
      () => cardMetrics([{ file: 'x.json', metrics: ['nope' as 'fid'] }], () => ({})),
      /unknown card metric 'nope'/,
    );
    const detail = { base: 64, side: 256, generated: 0.005, generatedSe: 0, real: 0.02, realSe: 0, ratio: 0.25 };
    const [shown] = cardMetrics([{ file: 'd.json', label: '256 px stage', metrics: ['detail'] }], () => ({ detail }));
    assert.deepEqual([shown!.name, shown!.value], ["detail above 64 px, of real images', 256 px stage", '0.25']);
    assert.match(shown!.detail!, /5\.00e-3 generated vs 2\.00e-2 real/);
  });
});

describe('training facts and tables of shipped models, from their files', () => {
  const record: RunSummary = {
    run: 'r',
    model: 'dfgan',
    seed: 0,
    gitCommit: null,
    mode: { precision: 'bf16', memoryFormat: 'channelsLast' },
    resumedAt: [],
    steps: 1000,
    imagesSeen: 32_000,
    wallSeconds: 7200,
    cpuSeconds: 12_600,
    cpuFromStep: 100,
    threads: 2,
    evals: [],
  };

  test("a card's training: checkpoint and step from the model file; images and the run's length from its record", () => {
    const model = {
      file: 'm.safetensors',
      metadata: { exportedFrom: 'runs/r/checkpoints/step-00000750.safetensors', step: '750' },
    };
    assert.deepEqual(cardTraining('CPU', model, { file: 'r.json', summary: record }), {
      hardware: 'CPU',
      checkpoint: 'runs/r/checkpoints/step-00000750.safetensors',
      steps: 750,
      images: 24_000,
      run: '1,000 steps, 0.03 M images, 2.0 h wall-clock, 3.5 CPU-hours since step 100, bf16 + channels-last (r.json)',
    });
    assert.deepEqual(cardTraining(undefined, model), { checkpoint: model.metadata.exportedFrom, steps: 750 });
    // A model from after the record's end means the record is stale.
    const later = { ...model, metadata: { ...model.metadata, step: '1200' } };
    assert.throws(() => cardTraining('CPU', later, { file: 'r.json', summary: record }), /summarize the run again/);
    // A run that started from another model's weights (init.from): its images add to that model's.
    const started = { ...record, startedFrom: { file: 'models/m.safetensors', step: 9500, images: 304_000 } };
    const t = cardTraining('CPU', model, { file: 'r.json', summary: started });
    assert.equal(t.images, 24_000 + 304_000);
    assert.equal(
      t.startedFrom,
      'models/m.safetensors at step 9,500: 304,000 of the images above were seen before this run',
    );
    const unknown = { ...record, startedFrom: { file: 'x.safetensors', step: null, images: null } };
    assert.equal(cardTraining('CPU', model, { file: 'r.json', summary: unknown }).images, 24_000);
    // A stacked model's file knows its last stage's step only, and says so.
    const stacked = { file: 's.safetensors', metadata: { step: '806', stage1Model: 'stackgan-stage1' } };
    assert.equal(cardTraining(undefined, stacked).steps, "806 (Stage II; Stage I's are not recorded in the file)");
    // With its config, the Stage I it refines; with a record (the Stage II run's), that run's images.
    const refiner = {
      ...model,
      metadata: {
        ...model.metadata,
        stage1Model: 'stackgan-stage1',
        config: JSON.stringify({ stage1: 'runs/s1/ck.json' }),
      },
    };
    assert.deepEqual(cardTraining('CPU', refiner, { file: 'r.json', summary: record }), {
      hardware: 'CPU',
      checkpoint: 'runs/r/checkpoints/step-00000750.safetensors',
      stage1: 'runs/s1/ck.json',
      steps: '750 (Stage II)',
      images: 24_000,
      run: 'Stage II: 1,000 steps, 0.03 M images, 2.0 h wall-clock, 3.5 CPU-hours since step 100, bf16 + channels-last (r.json)',
    });
  });

  test("the early models table from each model file's metadata", () => {
    const meta: Record<string, unknown> = {
      'models/a.safetensors': {
        model: 'gan-int-cls',
        step: '1200',
        weights: 'ema',
        exportedFrom: 'runs/a/checkpoints/step-00001200.safetensors',
        config: JSON.stringify({ data: { batchSize: 16 }, generator: { width: 48 }, discriminator: { width: 32 } }),
      },
      'models/b.safetensors': { model: 'x' },
    };
    const read = (f: string): unknown => meta[f];
    const t = renderTable({ kind: 'models', files: ['models/a.safetensors'] }, read);
    assert.equal(
      t.split('\n')[2],
      '| `models/a.safetensors` | `runs/a/checkpoints/step-00001200.safetensors` | gan-int-cls | 1,200 | 16 | 48 / 32 | ema |',
    );
    assert.throws(() => renderTable({ kind: 'models', files: ['models/b.safetensors'] }, read), /records no step/);
  });

  test("the README's Measured table from the benchmark files", () => {
    const files: Record<string, unknown> = {
      engine: {
        against: 'pytorch',
        libtorch: '2.9.0',
        options: { batch: 64, rounds: 3 },
        matrix: { ts: { fp32: 90, bf16: 150 }, py: { fp32: 100, bf16: 120 } },
      },
      mb: {
        torch: '1.13.0',
        rows: [
          { model: 'g', mode: 'fp32', imgPerS: 10 },
          { model: 'h', mode: 'fp32', imgPerS: 4 },
        ],
      },
      ma: {
        torch: '2.9.0',
        rows: [
          { model: 'g', mode: 'fp32', imgPerS: 12 },
          { model: 'g', mode: 'bf16', imgPerS: 30 },
          { model: 'h', mode: 'bf16', imgPerS: 5 },
        ],
      },
      gb: { auto: 'fp32', rows: [{ model: 's', side: 256, mode: 'fp32', oneMs: 20, batchImgPerS: 10 }] },
      ga: {
        auto: 'bf16',
        rows: [
          { model: 's', side: 256, mode: 'fp32', oneMs: 18, batchImgPerS: 12 },
          { model: 's', side: 256, mode: 'bf16', oneMs: 9, batchImgPerS: 40 },
        ],
      },
      load: {
        single: { p50Ms: 10.44, p99Ms: 20 },
        concurrent: { connections: 50, imagesPerSecond: 300.4, errors: 0, timeouts: 0 },
        mixed: {
          heavyClients: 2,
          heavyRequest: 's, 16 images',
          lightAlone: { p99Ms: 40 },
          light: { p99Ms: 200 },
          healthz: { p99Ms: 30 },
        },
      },
    };
    const t = renderTable(
      {
        kind: 'readme-measured',
        engine: 'engine',
        models: ['mb', 'ma'],
        examples: [['g', 'G']],
        generate: ['gb', 'ga'],
        generateModel: ['s', 256],
        load: 'load',
      },
      (f) => files[f],
    );
    const rows = t.split('\n').slice(2);
    // The engine row at TypeScript's fastest mode; the speed-ups are each model's fastest over its old fp32.
    assert.match(rows[0]!, /TypeScript 150\.0 img\/s, PyTorch 2\.9\.0 itself 120\.0 \(bf16, best of 3\): ratio 1\.25/);
    assert.match(rows[1]!, /1\.3–3\.0× the old default \(libtorch 1\.13, fp32\), fastest mode: G 10\.0 → 30\.0 img\/s/);
    assert.match(rows[2]!, /9\.0 ms \(before: 20\.0 ms; in batches: 40\.0 vs 10\.0 img\/s\)/);
    assert.match(
      rows[3]!,
      /p50 10\.4 ms; 50 clients 300 images\/s, every request answered; one-face requests p99 200 ms beside 2 clients/,
    );
    assert.throws(
      () =>
        renderTable(
          {
            kind: 'readme-measured',
            engine: 'engine',
            models: ['mb', 'ma'],
            examples: [['nope', 'N']],
            generate: ['gb', 'ga'],
            generateModel: ['s', 256],
            load: 'load',
          },
          (f) => files[f],
        ),
      /have no rows for nope/,
    );
  });
});

describe('training runs summarised for the results tables', () => {
  test('steps, images, wall-clock, CPU time and mode from the run; every evaluation against images seen', () => {
    const dir = path.join(tmp, 'run');
    fs.mkdirSync(path.join(dir, 'checkpoints'), { recursive: true });
    const mode = { precision: 'bf16', memoryFormat: 'channelsLast' };
    fs.writeFileSync(
      path.join(dir, 'run.json'),
      JSON.stringify({
        name: 'r',
        model: 'tag-projection-gan',
        seed: 3,
        gitCommit: 'abc',
        mode,
        resumedAt: [{ step: 20, mode }],
      }),
    );
    // Checkpoints at 10 and 30 (batch 8); the run resumed at 20 from a checkpoint without CPU time.
    for (const [step, extra] of [
      [10, {}],
      [30, { cpuSeconds: 50, cpuFromStep: 20 }],
    ] as const)
      fs.writeFileSync(
        path.join(dir, 'checkpoints', `step-${String(step).padStart(8, '0')}.json`),
        JSON.stringify({ step, state: { imagesSeen: step * 8, seconds: step * 1.5, ...extra } }),
      );
    const lines = [
      { step: 1, time: 0, 'loss/D': 1 },
      { step: 10, time: 1, 'eval/attr_hair': 0.25, 'eval/attr_both': 0.05 },
      { step: 30, time: 2, 'eval/attr_hair': 0.5, 'eval/attr_both': 0.125 },
    ];
    fs.writeFileSync(
      path.join(dir, 'metrics.jsonl'),
      lines.map((l) => JSON.stringify(l)).join('\n') + '\n{"step": 31, "ti',
    );
    const r = summarizeRun(dir, 2);
    // Named by its directory (what --resume takes), not by its config's name.
    assert.equal(r.run, 'run');
    // run.json records no threads here: the caller's figure stands in.
    assert.equal(r.threads, 2);
    assert.deepEqual(
      { steps: r.steps, images: r.imagesSeen, wall: r.wallSeconds, cpu: r.cpuSeconds, from: r.cpuFromStep },
      { steps: 30, images: 240, wall: 45, cpu: 50, from: 20 },
    );
    assert.deepEqual(r.resumedAt, [20]);
    assert.deepEqual(
      r.evals.map((e) => [e.step, e.images, e['eval/attr_hair']]),
      [
        [10, 80, 0.25],
        [30, 240, 0.5],
      ],
    );
    const file = path.join(tmp, 'docs', 'results', 'run-r.json');
    fs.writeFileSync(file, JSON.stringify(r));
    const read = (f: string): unknown => JSON.parse(fs.readFileSync(path.join(tmp, f), 'utf8'));
    const runs = renderTable({ kind: 'runs', files: ['docs/results/run-r.json'] }, read);
    assert.match(
      runs,
      /\| `run` \(tag-projection-gan\) \| 30 \| 240 \| 0\.01 h \| 0\.01 since step 20 \| bf16 \+ channels-last \| 20 \|/,
    );
    const curve = renderTable(
      { kind: 'run-curve', file: 'docs/results/run-r.json', metrics: [['eval/attr_both', 'both right']] },
      read,
    );
    assert.deepEqual(curve.split('\n').slice(2), ['| 10 | 80 | 5.0% |', '| 30 | 240 | 12.5% |']);
    // A run that started from a model file (run.json startedFrom): the record keeps it, the runs
    // table names it, and the curve counts the images G saw before.
    const info = JSON.parse(fs.readFileSync(path.join(dir, 'run.json'), 'utf8')) as Record<string, unknown>;
    info.startedFrom = { file: 'models/m.safetensors', step: 100, images: 800 };
    fs.writeFileSync(path.join(dir, 'run.json'), JSON.stringify(info));
    fs.writeFileSync(file, JSON.stringify(summarizeRun(dir, 2)));
    assert.match(
      renderTable({ kind: 'runs', files: ['docs/results/run-r.json'] }, read),
      /\| `run` \(tag-projection-gan\), from `models\/m\.safetensors` \(step 100\) \| 30 \| 240 \(\+ 800 before\) \|/,
    );
    const after = renderTable(
      { kind: 'run-curve', file: 'docs/results/run-r.json', metrics: [['eval/attr_both', 'both right']] },
      read,
    ).split('\n');
    assert.match(after[0]!, /images seen \(800 before this run\)/);
    assert.deepEqual(after.slice(2), ['| 10 | 880 | 5.0% |', '| 30 | 1,040 | 12.5% |']);
    // Threads recorded at the start and at the resume: the most of them, whatever the caller says;
    // one start without a record counts as the caller's figure.
    info.threads = 1;
    info.resumedAt = [{ step: 20, mode, threads: 1 }];
    fs.writeFileSync(path.join(dir, 'run.json'), JSON.stringify(info));
    assert.equal(summarizeRun(dir, 2).threads, 1);
    info.resumedAt = [{ step: 20, mode }];
    fs.writeFileSync(path.join(dir, 'run.json'), JSON.stringify(info));
    assert.equal(summarizeRun(dir, 2).threads, 2);
    fs.rmSync(path.join(dir, 'checkpoints'), { recursive: true });
    assert.throws(() => summarizeRun(dir, 2), /no checkpoint with its training state/);
  });

  test('the latent-space tables: image → latent and directions, from their JSON', () => {
    const files: Record<string, unknown> = {
      'inv.json': {
        results: [
          {
            encoder: true,
            split: 'test',
            steps: 100,
            starts: 4,
            real: {
              images: 24,
              mse: 0.0512,
              psnrDb: 19.04,
              encoderMse: 0.1,
              encoderPsnrDb: 16.02,
              secondsPerImage: 3.21,
            },
            generated: {
              images: 24,
              mse: 0.01,
              psnrDb: 26.1,
              encoderMse: 0.05,
              encoderPsnrDb: 19.03,
              secondsPerImage: 3.1,
            },
          },
        ],
      },
      'dirs.json': {
        directions: [
          {
            name: 'noise:hair:red',
            measured: [
              { strength: -2, target: 0, othersKept: 0.9 },
              { strength: 2, target: 0.125, othersKept: 0.95 },
            ],
          },
        ],
        blends: [
          {
            name: 'hair:red',
            measured: [
              { strength: 0, target: 0, othersKept: 1 },
              { strength: 1, target: 0.98, othersKept: 0.8 },
            ],
          },
        ],
        truncation: [
          { psi: 1, both: 0.75, pixelStd: 0.3456 },
          { psi: 0.5, both: 0.8125, pixelStd: 0.2 },
        ],
      },
    };
    const read = (f: string): unknown => files[f];
    const inv = renderTable({ kind: 'inversion', file: 'inv.json' }, read).split('\n');
    assert.match(inv[0]!, /PSNR after 100 steps × 4 starts/);
    assert.equal(
      inv[2],
      "| encoder's guess, then Adam | held-out real (test split) | 24 | 16.0 dB | 19.0 dB | 0.0512 | 3.2 s |",
    );
    assert.equal(inv[3], "| encoder's guess, then Adam | generated | 24 | 19.0 dB | 26.1 dB | 0.0100 | 3.1 s |");
    const dirs = renderTable({ kind: 'directions', file: 'dirs.json' }, read).split('\n');
    assert.equal(dirs[2], '| `hair:red` | 0: 0.0%, 1: 98.0% | 0: 100.0%, 1: 80.0% |');
    assert.equal(dirs[3], '| `noise:hair:red` | -2: 0.0%, 2: 12.5% | -2: 90.0%, 2: 95.0% |');
    const one = renderTable({ kind: 'directions', file: 'dirs.json', names: ['noise:hair:red'] }, read).split('\n');
    assert.equal(one.length, 3);
    assert.throws(() => renderTable({ kind: 'directions', file: 'dirs.json', names: ['x'] }, read), /no direction x/);
    const trunc = renderTable({ kind: 'truncation', file: 'dirs.json' }, read).split('\n');
    assert.deepEqual(trunc.slice(2), ['| 1 | 75.0% | 0.346 |', '| 0.5 | 81.3% | 0.200 |']);
  });

  test('the encoders table and the real-image R-precision row, from their JSON', () => {
    const enc = (name: string, r1: number, rp: number): unknown => ({
      encoders: name,
      images: 290,
      captions: 2900,
      imageToText: { r1, r5: 0.5, r10: 0.75 },
      textToImage: { r1: 0.01, r5: 0.05, r10: 0.1 },
      rprec: { mean: rp, std: 0.004, samples: 1000, candidates: 100, splits: [] },
    });
    const files: Record<string, unknown> = {
      'a.json': enc('damsm-cub@2000/global256', 0.01, 0.071),
      'b.json': enc('damsm-cub-species@3000/global256', 0.125, 0.3),
      'gen.json': {
        n: 1000,
        splits: ['test'],
        rprec: { label: 'R-precision (DAMSM: x)', mean: 0.15, std: 0.01, candidates: 100, real: enc('x', 0.1, 0.3) },
      },
    };
    const read = (f: string): unknown => files[f];
    const t = renderTable(
      {
        kind: 'encoders',
        columns: [
          ['a.json', 'before'],
          ['b.json', 'after'],
        ],
      },
      read,
    ).split('\n');
    assert.equal(t[0], '| metric | before (damsm-cub@2000/global256) | after (damsm-cub-species@3000/global256) |');
    assert.equal(
      t[2],
      '| image → caption, recall @1 / @5 / @10 (of 2,900 captions) | 1.0% / 50.0% / 75.0% | 12.5% / 50.0% / 75.0% |',
    );
    assert.equal(t[4], '| R-precision of real images (1,000 captions, 1 of 100) | 7.1% ± 0.4 | 30.0% ± 0.4 |');
    const g = renderTable({ kind: 'eval', columns: [['gen.json', 'model']] }, read).split('\n');
    assert.equal(g[3], '| R-precision of the real images (same captions) | 30.0% ± 0.4 (generated ÷ real 0.50) |');
    // A diversity-only evaluation (no FID images): no "0 generated" in its header.
    files['div.json'] = {
      n: 0,
      splits: ['test'],
      div: { label: 'Diversity (x)', generated: 2.5, real: 3, ratio: 2.5 / 3, modeCollapse: false },
    };
    const d = renderTable({ kind: 'eval', columns: [['div.json', 'all pairs']] }, read).split('\n');
    assert.equal(d[0], '| metric | all pairs |');
    assert.equal(d[2], '| Diversity (x) | 2.50 per condition vs 3.00 real (ratio 0.83) |');
    // Real-vs-real columns: one per reference as printed. The same val images read with another thread
    // count differ past the printed digits (one column); another split's images print other figures.
    const withRef = (fid: number, refFid: number, split = 'val'): object => ({
      n: 1000,
      splits: ['test'],
      fid: { label: 'FID (x)', value: fid },
      reference: { split, images: 287, fid: { label: 'FID (x)', value: refFid } },
    });
    files['r1.json'] = withRef(28.4, 87.43327998125721);
    files['r2.json'] = withRef(29.8, 87.43327997372415);
    files['r3.json'] = withRef(30.0, 55.5, 'train');
    const spec = (names: string[]): Extract<Parameters<typeof renderTable>[0], { kind: 'eval' }> => ({
      kind: 'eval',
      columns: names.map((n): [string, string] => [`${n}.json`, n]),
      reference: true,
    });
    const same = renderTable(spec(['r1', 'r2']), read).split('\n');
    assert.equal(same[0], '| metric | r1, 1,000 generated | r2, 1,000 generated | real val (287) vs real test |');
    assert.equal(same[2], '| FID (x) | 28.4 | 29.8 | 87.4 |');
    const other = renderTable(spec(['r1', 'r2', 'r3']), read).split('\n');
    assert.equal(other[2], '| FID (x) | 28.4 | 29.8 | 30.0 | 87.4 | 55.5 |');
    assert.ok(other[0]!.endsWith('| real val (287) vs real test, r1 | real train (287) vs real test, r3 |'));
    // Columns measured through different features cannot share a row's label: refused, not mislabelled.
    files['y.json'] = { n: 1000, splits: ['test'], fid: { label: 'FID (y)', value: 31 } };
    assert.throws(
      () =>
        renderTable(
          {
            kind: 'eval',
            columns: [
              ['r1.json', 'x'],
              ['y.json', 'y'],
            ],
          },
          read,
        ),
      /measured with different networks \(FID \(x\); FID \(y\)\): one table for each/,
    );
  });

  test('tag evaluations one row each: FID, diversity ratio, both right over all, present and new-pair combinations', () => {
    // Hair a, b, c × eyes x, y: (b, y) is a new pair of known colours; c hair is on no training face.
    const combo = (hair: string, eyes: string, both: number, inTraining: boolean): object => ({
      hair,
      eyes,
      n: 4,
      accuracy: { hair: 1, eyes: 1, both },
      inTraining,
    });
    const evaluation = (fid: number, ratio: number, bothTrained: number): object => ({
      n: 100,
      fid: { value: fid },
      div: { generated: 1, real: 2, ratio, modeCollapse: false },
      attr: {
        perCombo: [
          combo('a', 'x', bothTrained, true),
          combo('a', 'y', bothTrained, true),
          combo('b', 'x', 1, true),
          combo('b', 'y', 0.5, false),
          combo('c', 'x', 0, false),
          combo('c', 'y', 0, false),
        ],
      },
    });
    const files: Record<string, object> = {
      'a.json': evaluation(1.234, 0.7, 0.25),
      'b.json': evaluation(0.8, 0.75, 1),
    };
    const read = (f: string): unknown => files[f];
    const t = renderTable(
      {
        kind: 'tag-evals',
        rows: [
          ['a.json', 'step 1'],
          ['b.json', 'mean'],
        ],
      },
      read,
    ).split('\n');
    assert.equal(
      t[0],
      '| model | FID | diversity ratio | both right: all (6) | in the training data (3) | new pairs of known colours (1) |',
    );
    // All: (0.25 + 0.25 + 1 + 0.5 + 0 + 0) / 6; in the training data: (0.25 + 0.25 + 1) / 3.
    assert.equal(t[2], '| step 1 | 1.23 | 0.70 | 33.3% | 50.0% | 50.0% |');
    assert.equal(t[3], '| mean | 0.80 | 0.75 | 58.3% | 100.0% | 50.0% |');
    files['c.json'] = { n: 100, fid: { value: 1 } };
    assert.throws(
      () => renderTable({ kind: 'tag-evals', rows: [['c.json', 'x']] }, read),
      /c.json lacks FID, diversity/,
    );
  });

  test('chosen rows of a bench:models run, in the order and under the names given', () => {
    const bench = {
      torch: '2.x',
      rows: [
        { model: 'a', mode: 'bf16+cl', imgPerS: 23.44, peakRssMiB: 1874, batch: 32 },
        { model: 'b', mode: 'bf16+cl', imgPerS: 3.01, peakRssMiB: 13242, batch: 32 },
      ],
    };
    const read = (): unknown => bench;
    const spec = {
      kind: 'bench-models-rows' as const,
      file: 'b.json',
      labels: [
        ['b', 'big'],
        ['a', 'small'],
      ] as [string, string][],
    };
    const t = renderTable(spec, read).split('\n');
    assert.deepEqual(t.slice(2), [
      '| big | bf16+cl | 32 | 3.0 | 12.9 GiB |',
      '| small | bf16+cl | 32 | 23.4 | 1.8 GiB |',
    ]);
    assert.throws(() => renderTable({ ...spec, labels: [['c', 'none']] }, read), /b.json has no row for c/);
  });
});
