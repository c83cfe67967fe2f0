// What 'auto' picks (train.precision / train.memoryFormat, and inference): read from the CPU's
// flags and libtorch's version, overridden by explicit settings, with the reason said; and the
// autocast weight cache is dropped by every optimizer update (a GAN's G step after its D step).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import {
  autocast,
  backendInfo,
  cpuFeatures,
  fastestMode,
  liveTensors,
  manualSeed,
  ones,
  parseCpuFeatures,
  tidy,
  type MachineFacts,
} from '../../src/engine/index.js';
import { Linear } from '../../src/nn/index.js';
import { Adam, RMSprop, SGD, type Optimizer } from '../../src/optim/index.js';
import { resolveComputeMode } from '../../src/train/precision.js';

const START = liveTensors();

const ZEN5 = `processor\t: 0
vendor_id\t: AuthenticAMD
model name\t: AMD EPYC 9B45
flags\t\t: fpu vme avx2 fma avx512f avx512bw avx512_vnni avx512_bf16 avx512_fp16
`;
const SKYLAKE = `processor\t: 0
model name\t: Intel(R) Xeon(R) Gold 6148
flags\t\t: fpu avx2 fma avx512f avx512bw
`;
const SAPPHIRE = `model name\t: Intel(R) Xeon(R) Platinum 8480
flags\t\t: avx2 avx512f avx512_bf16 amx_tile amx_bf16
`;

const facts = (cpuinfo: string, torchMajor: number): MachineFacts => ({
  cpu: parseCpuFeatures(cpuinfo, 'test'),
  torchMajor,
});

describe('CPU features', () => {
  test('native bfloat16 from avx512_bf16 or amx_bf16; the model name and the relevant flags', () => {
    const z = parseCpuFeatures(ZEN5, 'test');
    assert.equal(z.bf16, true);
    assert.equal(z.model, 'AMD EPYC 9B45');
    assert.deepEqual(z.flags, ['avx2', 'fma', 'avx512f', 'avx512bw', 'avx512_vnni', 'avx512_bf16']);
    assert.equal(parseCpuFeatures(SKYLAKE, 'test').bf16, false);
    assert.equal(parseCpuFeatures(SAPPHIRE, 'test').bf16, true);
    assert.equal(parseCpuFeatures('', 'test').bf16, false, 'no flags line: nothing assumed');
  });

  test('this machine: read once, the same answer each time', () => {
    const a = cpuFeatures();
    assert.equal(cpuFeatures(), a);
    assert.equal(typeof a.bf16, 'boolean');
  });
});

describe('auto mode', () => {
  test('CPU with native bf16 on libtorch 2.x: bf16 + channels-last, and why', () => {
    const m = fastestMode('cpu', facts(ZEN5, 2));
    assert.equal(m.precision, 'bf16');
    assert.equal(m.memoryFormat, 'channelsLast');
    assert.match(m.reason, /natively \(avx512_bf16\)/);
  });
  test('CPU without it: fp32; libtorch 1.x: fp32 in the default layout', () => {
    assert.equal(fastestMode('cpu', facts(SKYLAKE, 2)).precision, 'fp32');
    assert.match(fastestMode('cpu', facts(SKYLAKE, 2)).reason, /no native bfloat16/);
    const old = fastestMode('cpu', facts(ZEN5, 1));
    assert.deepEqual([old.precision, old.memoryFormat], ['fp32', 'contiguous']);
    assert.match(old.reason, /libtorch 1\.x/);
  });
  test('CUDA keeps fp32 and the default layout', () => {
    const m = fastestMode('cuda:0', facts(ZEN5, 2));
    assert.deepEqual([m.precision, m.memoryFormat], ['fp32', 'contiguous']);
  });
  test('explicit settings win over auto, and the reason says which came from where', () => {
    const f = facts(ZEN5, 2);
    const a = resolveComputeMode('auto', 'auto', 'cpu', f);
    assert.deepEqual([a.precision, a.memoryFormat], ['bf16', 'channelsLast']);
    const b = resolveComputeMode('fp32', 'auto', 'cpu', f);
    assert.deepEqual([b.precision, b.memoryFormat], ['fp32', 'channelsLast']);
    assert.match(b.reason, /precision fp32 set by the config/);
    const c = resolveComputeMode('bf16', 'contiguous', 'cpu', facts(SKYLAKE, 2));
    assert.deepEqual([c.precision, c.memoryFormat], ['bf16', 'contiguous']);
    assert.doesNotMatch(c.reason, /auto/);
    assert.throws(() => resolveComputeMode('fp8' as 'fp32', 'auto', 'cpu', f), /precision must be auto or one of/);
    assert.throws(() => resolveComputeMode('auto', 'nhwc' as 'auto', 'cpu', f), /memoryFormat must be auto or one of/);
  });
  test('this machine and libtorch', () => {
    const m = fastestMode('cpu');
    const v2 = backendInfo().major >= 2;
    assert.equal(m.precision, v2 && cpuFeatures().bf16 ? 'bf16' : 'fp32');
    assert.equal(m.memoryFormat, v2 ? 'channelsLast' : 'contiguous');
  });
});

describe('autocast and optimizer updates', () => {
  const makers: [string, (p: Linear) => Optimizer][] = [
    ['SGD', (l) => new SGD(l.parameters(), { lr: 1 })],
    ['Adam (fused where available)', (l) => new Adam(l.parameters(), { lr: 1 })],
    ['Adam (foreach)', (l) => new Adam(l.parameters(), { lr: 1, fused: false })],
    ['RMSprop', (l) => new RMSprop(l.parameters(), { lr: 1 })],
  ];
  for (const [name, make] of makers)
    test(`${name}: a forward pass after an update inside one autocast region sees the new weights`, () => {
      manualSeed(2);
      const l = new Linear(2, 1, { bias: false });
      const opt = make(l);
      autocast('cpu', 'bfloat16', () => {
        using x = ones([1, 2]);
        using y = l.forward(x);
        using s = y.sum();
        s.backward();
        opt.step();
        using y2 = l.forward(x);
        // The reference: the updated float32 weights through the same bf16 product, outside autocast.
        using ref = tidy(() => x.to('bfloat16').matmul(l.weight.to('bfloat16').t()));
        assert.notEqual(y2.item(), y.item(), 'the update changed the output');
        assert.equal(y2.item(), ref.item());
      });
      opt.dispose();
      l.dispose();
    });
});

test('no tensor is left behind', () => {
  assert.equal(liveTensors(), START);
});
