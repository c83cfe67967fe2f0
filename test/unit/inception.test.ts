// The FID Inception-v3 (pytorch-fid's port of TensorFlow's 2015 graph) without its weights, which
// are not available here: every state-dict name and shape against a table written from the
// architecture, the parameter count against torchvision's published figure, output shapes, the
// TensorFlow pooling details, eval-mode batch independence, and weight files that load or fail.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';

import {
  F,
  Generator,
  liveTensors,
  noGrad,
  ones,
  randn,
  tensor,
  tidy,
  zeros,
  type Tensor,
} from '../../src/engine/index.js';
import { INCEPTION_FEATURES, loadInception, verifyInceptionWeights } from '../../src/eval/inception.js';
import { inceptionNetwork, metricLabel } from '../../src/eval/feature-network.js';
import { saveSafetensors } from '../../src/io/index.js';
import { InceptionA, InceptionE, InceptionV3 } from '../../src/models/inception-v3.js';
import { init, type Module } from '../../src/nn/index.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cai-inception-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

// ---- the expected state dict, from torchvision's Inception3 listing --------------------------------
type Conv = [name: string, inC: number, outC: number, kh: number, kw: number];
const A = (b: string, c: number, pool: number): Conv[] => [
  [`${b}.branch1x1`, c, 64, 1, 1],
  [`${b}.branch5x5_1`, c, 48, 1, 1],
  [`${b}.branch5x5_2`, 48, 64, 5, 5],
  [`${b}.branch3x3dbl_1`, c, 64, 1, 1],
  [`${b}.branch3x3dbl_2`, 64, 96, 3, 3],
  [`${b}.branch3x3dbl_3`, 96, 96, 3, 3],
  [`${b}.branch_pool`, c, pool, 1, 1],
];
const B = (b: string, c: number): Conv[] => [
  [`${b}.branch3x3`, c, 384, 3, 3],
  [`${b}.branch3x3dbl_1`, c, 64, 1, 1],
  [`${b}.branch3x3dbl_2`, 64, 96, 3, 3],
  [`${b}.branch3x3dbl_3`, 96, 96, 3, 3],
];
const C = (b: string, c7: number): Conv[] => [
  [`${b}.branch1x1`, 768, 192, 1, 1],
  [`${b}.branch7x7_1`, 768, c7, 1, 1],
  [`${b}.branch7x7_2`, c7, c7, 1, 7],
  [`${b}.branch7x7_3`, c7, 192, 7, 1],
  [`${b}.branch7x7dbl_1`, 768, c7, 1, 1],
  [`${b}.branch7x7dbl_2`, c7, c7, 7, 1],
  [`${b}.branch7x7dbl_3`, c7, c7, 1, 7],
  [`${b}.branch7x7dbl_4`, c7, c7, 7, 1],
  [`${b}.branch7x7dbl_5`, c7, 192, 1, 7],
  [`${b}.branch_pool`, 768, 192, 1, 1],
];
const D = (b: string): Conv[] => [
  [`${b}.branch3x3_1`, 768, 192, 1, 1],
  [`${b}.branch3x3_2`, 192, 320, 3, 3],
  [`${b}.branch7x7x3_1`, 768, 192, 1, 1],
  [`${b}.branch7x7x3_2`, 192, 192, 1, 7],
  [`${b}.branch7x7x3_3`, 192, 192, 7, 1],
  [`${b}.branch7x7x3_4`, 192, 192, 3, 3],
];
const E = (b: string, c: number): Conv[] => [
  [`${b}.branch1x1`, c, 320, 1, 1],
  [`${b}.branch3x3_1`, c, 384, 1, 1],
  [`${b}.branch3x3_2a`, 384, 384, 1, 3],
  [`${b}.branch3x3_2b`, 384, 384, 3, 1],
  [`${b}.branch3x3dbl_1`, c, 448, 1, 1],
  [`${b}.branch3x3dbl_2`, 448, 384, 3, 3],
  [`${b}.branch3x3dbl_3a`, 384, 384, 1, 3],
  [`${b}.branch3x3dbl_3b`, 384, 384, 3, 1],
  [`${b}.branch_pool`, c, 192, 1, 1],
];
const CONVS: Conv[] = [
  ['Conv2d_1a_3x3', 3, 32, 3, 3],
  ['Conv2d_2a_3x3', 32, 32, 3, 3],
  ['Conv2d_2b_3x3', 32, 64, 3, 3],
  ['Conv2d_3b_1x1', 64, 80, 1, 1],
  ['Conv2d_4a_3x3', 80, 192, 3, 3],
  ...A('Mixed_5b', 192, 32),
  ...A('Mixed_5c', 256, 64),
  ...A('Mixed_5d', 288, 64),
  ...B('Mixed_6a', 288),
  ...C('Mixed_6b', 128),
  ...C('Mixed_6c', 160),
  ...C('Mixed_6d', 160),
  ...C('Mixed_6e', 192),
  ...D('Mixed_7a'),
  ...E('Mixed_7b', 1280),
  ...E('Mixed_7c', 2048),
];
const EXPECTED = new Map<string, number[]>();
for (const [n, i, o, kh, kw] of CONVS) {
  EXPECTED.set(`${n}.conv.weight`, [o, i, kh, kw]);
  for (const b of ['weight', 'bias', 'running_mean', 'running_var']) EXPECTED.set(`${n}.bn.${b}`, [o]);
}
EXPECTED.set('fc.weight', [1008, 2048]);
EXPECTED.set('fc.bias', [1008]);

/**
 * torchvision documents inception_v3 (1000 classes, with the auxiliary classifier) as 27,161,264
 * parameters (Inception_V3_Weights.IMAGENET1K_V1, "num_params", pytorch.org/vision/stable). Its
 * AuxLogits head is conv0 768→128 1×1 (98,304 + BN 256), conv1 128→768 5×5 (2,457,600 + BN 1,536)
 * and fc 768→1000 (769,000): 3,326,696. pytorch-fid's network has no aux head and 1008 classes,
 * 8 more fc rows of 2048 weights + 1 bias (16,392): 27,161,264 − 3,326,696 + 16,392.
 */
const PYTORCH_FID_PARAMETERS = 27_161_264 - 3_326_696 + 16_392; // 23,850,960

/** He-normal convolutions and non-trivial batch-norm statistics: activations stay O(1) at depth. */
function randomise(m: Module, seed: number): void {
  const g = new Generator(seed);
  noGrad(() => {
    for (const [name, t] of m.stateDict()) {
      if (name.endsWith('conv.weight')) init.kaimingNormal_(t, { nonlinearity: 'relu', generator: g });
      else if (name.endsWith('bn.weight')) init.uniform_(t, 0.8, 1.2, g);
      else if (name.endsWith('bn.bias')) init.uniform_(t, -0.1, 0.1, g);
      else if (name.endsWith('running_mean')) init.uniform_(t, -0.1, 0.1, g);
      else if (name.endsWith('running_var')) init.uniform_(t, 0.5, 1.5, g);
    }
  });
}

const maxRelDiff = (a: Tensor, b: Tensor): number =>
  tidy(() => a.sub(b).abs().max().item() / Math.max(1e-30, b.abs().max().item()));

test('every parameter and buffer has pytorch-fid’s name and shape; the count is torchvision’s', () => {
  const m = new InceptionV3();
  try {
    const got = new Map([...m.stateDict()].map(([k, t]) => [k, t.shape]));
    assert.equal(got.size, 94 * 5 + 2, '94 conv + BN layers (5 tensors each) and the fc layer');
    assert.deepEqual([...got.keys()].sort(), [...EXPECTED.keys()].sort());
    for (const [k, shape] of EXPECTED) assert.deepEqual(got.get(k), shape, k);
    // The table and the model both against the published figure.
    let fromTable = 0;
    for (const [k, s] of EXPECTED) if (!/running_/.test(k)) fromTable += s.reduce((a, b) => a * b, 1);
    assert.equal(fromTable, PYTORCH_FID_PARAMETERS);
    assert.equal(m.numParameters(), 23_850_960);
    assert.equal(m.training, false, 'built in eval mode');
    assert.ok(
      m.parameters().every((p) => !p.requiresGrad),
      'frozen',
    );
    for (const [k, t] of m.stateDict()) if (k.includes('.bn.')) assert.equal(t.dtype, 'float32');
    assert.equal(m.Conv2d_1a_3x3.bn.eps, 0.001, 'TensorFlow’s batch-norm epsilon');
  } finally {
    m.dispose();
  }
});

test('a 299×299 forward (inputs resized) gives pool3 [N, 2048] and logits [N, 1008]', () => {
  const live = liveTensors();
  const m = new InceptionV3();
  randomise(m, 1);
  try {
    using x = tidy(() => randn([2, 3, 64, 64], { generator: new Generator(2) }).tanh());
    const out = noGrad(() => m.forward(x));
    try {
      assert.deepEqual(out.pool.shape, [2, 2048]);
      assert.deepEqual(out.logits.shape, [2, 1008]);
      assert.deepEqual(out.logitsUnbiased.shape, [2, 1008]);
      const pool = out.pool.toTypedArray() as Float32Array;
      assert.ok(pool.every(Number.isFinite) && pool.every((v) => v >= 0), 'averages of ReLU outputs');
      assert.ok(tidy(() => out.pool.abs().max().item()) > 1e-3, 'not vanishing');
      tidy(() => {
        const w = m.fc.weight;
        assert.ok(maxRelDiff(out.logitsUnbiased, out.pool.matmul(w.t())) < 1e-6, 'no bias');
        assert.ok(maxRelDiff(out.logits, out.pool.matmul(w.t()).add(m.fc.bias!)) < 1e-6, 'with bias');
        // Bilinear, corners not aligned; an input already 299×299 is not resized again.
        const resized = F.interpolate(x.narrow(0, 0, 1), { size: 299, mode: 'bilinear', alignCorners: false });
        const big = noGrad(() => m.features(resized));
        assert.ok(maxRelDiff(big, out.pool.narrow(0, 0, 1)) < 1e-5);
      });
    } finally {
      out.pool.dispose();
      out.logits.dispose();
      out.logitsUnbiased.dispose();
    }
  } finally {
    m.dispose();
  }
  assert.equal(liveTensors(), live, 'every activation is freed');
});

test('eval mode: one batch of 4 gives what four batches of 1 give', () => {
  // 75×75 without resizing (the smallest input that reaches pool3) keeps this fast on a CPU.
  const m = new InceptionV3({ resizeInput: false });
  randomise(m, 3);
  try {
    using x = randn([4, 3, 75, 75], { generator: new Generator(4) });
    using all = noGrad(() => m.features(x));
    assert.deepEqual(all.shape, [4, 2048]);
    for (let i = 0; i < 4; i++)
      tidy(() => {
        const one = noGrad(() => m.features(x.narrow(0, i, 1)));
        assert.ok(maxRelDiff(one, all.narrow(0, i, 1)) < 1e-4, `image ${i}`);
      });
    assert.throws(() => m.features(zeros([1, 1, 75, 75])), /expects images \[N, 3, H, W\]/);
  } finally {
    m.dispose();
  }
});

/** BN with its initial statistics is x/√(1 + 0.001): the value a 1 becomes after BasicConv2d. */
const UNIT = 1 / Math.sqrt(1.001);

function onlyPoolBranch(block: InceptionA | InceptionE): void {
  noGrad(() => {
    for (const [k, t] of block.stateDict()) if (k.endsWith('conv.weight')) t.zero_();
    block.branch_pool.conv.weight.fill_(1);
  });
  block.eval();
}

test('A blocks average without counting the padding (TensorFlow), BN eps is 0.001', () => {
  const a = new InceptionA(1, 1);
  onlyPoolBranch(a);
  try {
    using x = ones([1, 1, 5, 5]);
    using y = noGrad(() => a.forward(x));
    assert.deepEqual(y.shape, [1, 64 + 64 + 96 + 1, 5, 5]);
    using pool = y.select(1, 224);
    // count_include_pad=True would give 4/9 in the corners and 6/9 on the edges.
    for (const v of pool.toTypedArray() as Float32Array) assert.ok(Math.abs(v - UNIT) < 1e-6, String(v));
  } finally {
    a.dispose();
  }
});

test('Mixed_7c’s pooling branch takes the maximum, Mixed_7b’s the padding-free average', () => {
  const maxE = new InceptionE(1, 'max');
  const avgE = new InceptionE(1, 'avg');
  onlyPoolBranch(maxE);
  onlyPoolBranch(avgE);
  try {
    // A single 1 in the middle of a 3×3 map: every 3×3 window holds it.
    using x = tensor([0, 0, 0, 0, 1, 0, 0, 0, 0], { shape: [1, 1, 3, 3] });
    const corner = (e: InceptionE): number =>
      noGrad(() =>
        tidy(() =>
          e
            .forward(x)
            .select(1, 320 + 768 + 768)
            .select(0, 0)
            .select(0, 0)
            .select(0, 0)
            .item(),
        ),
      );
    assert.ok(Math.abs(corner(maxE) - UNIT) < 1e-6, 'max: 1');
    assert.ok(Math.abs(corner(avgE) - UNIT / 4) < 1e-6, 'average over the 4 real pixels of the corner window');
  } finally {
    maxE.dispose();
    avgE.dispose();
  }
});

test('weights load from safetensors; missing, extra and misshapen tensors are named', () => {
  const m = new InceptionV3({ resizeInput: false });
  randomise(m, 5);
  const good = path.join(tmp, 'good.safetensors');
  const bad = path.join(tmp, 'bad.safetensors');
  try {
    // PyTorch state dicts carry BatchNorm's step counter; it means nothing here and is skipped.
    using counter = tensor(BigInt64Array.of(0n), { shape: [] });
    saveSafetensors(good, new Map([...m.stateDict(), ['Conv2d_1a_3x3.bn.num_batches_tracked', counter]]));
    const loaded = loadInception(good, 'cpu', { resizeInput: false });
    try {
      using x = randn([1, 3, 75, 75], { generator: new Generator(6) });
      using a = noGrad(() => m.features(x));
      using b = noGrad(() => loaded.features(x));
      assert.equal(maxRelDiff(b, a), 0);
    } finally {
      loaded.dispose();
    }
    const sd = new Map(m.stateDict());
    sd.delete('Mixed_7c.branch_pool.bn.running_var');
    using wrongFc = zeros([1000, 2048]);
    using aux = zeros([1000, 768]);
    sd.set('fc.weight', wrongFc);
    sd.set('AuxLogits.fc.weight', aux);
    saveSafetensors(bad, sd);
    const live = liveTensors();
    assert.throws(
      () => loadInception(bad),
      (e: Error) =>
        /does not hold the FID Inception-v3 weights/.test(e.message) &&
        /1 tensor\(s\) missing \(Mixed_7c\.branch_pool\.bn\.running_var\)/.test(e.message) &&
        /1 unexpected \(AuxLogits\.fc\.weight\)/.test(e.message) &&
        /fc\.weight is \[1000, 2048\], expected \[1008, 2048\]/.test(e.message) &&
        /pt_inception-2015-12-05-6726825d\.pth with scripts\/convert-inception\.py/.test(e.message),
    );
    assert.equal(liveTensors(), live, 'a refused file leaves nothing allocated');
    assert.throws(() => loadInception(path.join(tmp, 'none.safetensors')), /do not exist: convert pytorch-fid/);
  } finally {
    m.dispose();
  }
});

test("standard labels only for weights that verify as pytorch-fid's; others are labelled unverified", () => {
  const m = new InceptionV3();
  const state = m.stateDict();
  // The digest the converter records, computed here on its own: name, NUL, float32 bytes, by name.
  const h = createHash('sha256');
  for (const name of [...state.keys()].sort()) {
    const v = state.get(name)!.toFloat32Array();
    h.update(name + '\0');
    h.update(Buffer.from(v.buffer, v.byteOffset, v.byteLength));
  }
  const digest = h.digest('hex');
  const write = (name: string, metadata?: Record<string, string>): string => {
    const file = path.join(tmp, name);
    saveSafetensors(file, state, metadata);
    return file;
  };
  const converted = { source: 'pt_inception-2015-12-05-6726825d.pth', sha256: '6726825d' + '0'.repeat(56) };
  const good = write('converted.safetensors', { ...converted, tensors_sha256: digest });
  const plain = write('plain.safetensors');
  const otherSource = write('other.safetensors', {
    ...converted,
    sha256: 'deadbeef' + '0'.repeat(56),
    tensors_sha256: digest,
  });
  // The converter's metadata over weights that were changed afterwards.
  noGrad(() => state.get('Conv2d_1a_3x3.conv.weight')!.mul_(1.01));
  const changed = write('changed.safetensors', { ...converted, tensors_sha256: digest });
  m.dispose();

  assert.deepEqual(verifyInceptionWeights(good).verified, true);
  const why = (f: string): string => verifyInceptionWeights(f).reason;
  assert.match(why(plain), /names no source file checksum/);
  assert.match(why(otherSource), /starts deadbeef, not pytorch-fid's 6726825d/);
  assert.match(why(changed), /tensors are not the ones the converter wrote/);

  const net = inceptionNetwork(good);
  try {
    assert.equal(net.name, INCEPTION_FEATURES);
    assert.equal(net.standard, true);
    assert.equal(metricLabel('FID', net), 'FID');
    assert.equal(metricLabel('IS', net), 'IS');
    using x = zeros([1, 3, 32, 32]);
    const { features, probs } = net.extract(x);
    assert.deepEqual(features.shape, [1, 2048]);
    assert.deepEqual(probs?.shape, [1, 1008]);
    assert.ok(Math.abs(probs!.sum().item() - 1) < 1e-5, 'a probability distribution');
    features.dispose();
    probs!.dispose();
  } finally {
    net.dispose();
  }
  for (const f of [plain, changed]) {
    const warnings: string[] = [];
    const other = inceptionNetwork(f, 'cpu', (w) => warnings.push(w));
    try {
      assert.equal(other.standard, false);
      assert.notEqual(other.name, INCEPTION_FEATURES, 'its statistics are never compared with standard ones');
      assert.equal(metricLabel('FID', other), 'FID (Inception-v3 with unverified weights)');
      assert.match(warnings.join('\n'), /not verified as pytorch-fid's Inception weights/);
    } finally {
      other.dispose();
    }
  }
});
