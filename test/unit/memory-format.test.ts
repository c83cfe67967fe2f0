// Channels-last and bfloat16 on the CPU, op family by op family (every family the models use):
// a network's output and every gradient (input and parameters) in channels-last match the default
// layout to float32 rounding (rtol 1e-4 of the largest magnitude); under bf16 autocast they match
// float32 to bfloat16's 8-bit mantissa (3e-2 of the largest magnitude, summed over a few layers).
// Also: the layout survives the ops, Module.to({ memoryFormat }) keeps references and gradient
// flags, optimizer state follows its parameter's layout, and nothing leaks.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import {
  F,
  autocast,
  backendInfo,
  cat,
  liveTensors,
  manualSeed,
  noGrad,
  randn,
  tensor,
  tidy,
  zeros,
  type MemoryFormat,
  type Tensor,
} from '../../src/engine/index.js';
import {
  BatchNorm2d,
  Conv2d,
  ConvTranspose2d,
  GroupNorm,
  InstanceNorm2d,
  LayerNorm,
  LeakyReLU,
  Linear,
  Module,
  ReLU,
  Sequential,
  Sigmoid,
  Tanh,
  Upsample,
  init,
  spectralNorm,
} from '../../src/nn/index.js';
import { ConditionalBatchNorm2d } from '../../src/models/projection/index.js';
import { Adam } from '../../src/optim/index.js';
import { glu } from '../../src/models/layers/glu.js';
import { decodeSafetensors, encodeSafetensors } from '../../src/io/index.js';

const START = liveTensors();
const vals = (t: Tensor): Float32Array => t.toFloat32Array();

/** max |a - b| / max |b| over all elements. */
function relErr(a: Tensor, b: Tensor): number {
  const x = vals(a);
  const y = vals(b);
  assert.equal(x.length, y.length);
  let diff = 0;
  let scale = 1e-12;
  for (let i = 0; i < x.length; i++) {
    diff = Math.max(diff, Math.abs(x[i]! - y[i]!));
    scale = Math.max(scale, Math.abs(y[i]!));
  }
  return diff / scale;
}

/** A module whose forward is any function of the input (for the functional ops). */
class Fn extends Module {
  constructor(
    readonly f: (x: Tensor) => Tensor,
    readonly inner: Module | null = null,
  ) {
    super();
    if (inner) this.module('inner', inner);
  }
  forward(x: Tensor): Tensor {
    return this.f(x);
  }
}

type Net = Module & { forward(x: Tensor): Tensor };

/** Each op family the models are built from, as a small network with a fixed input shape. */
const FAMILIES: [string, () => Net, number[]][] = [
  ['conv 3x3 + bias', () => new Conv2d(6, 8, 3, { padding: 1 }), [2, 6, 8, 8]],
  ['conv 4x4 stride 2, no bias', () => new Conv2d(6, 8, 4, { stride: 2, padding: 1, bias: false }), [2, 6, 8, 8]],
  ['conv 1x1', () => new Conv2d(6, 4, 1), [2, 6, 5, 5]],
  ['transposed conv 4x4 stride 2', () => new ConvTranspose2d(6, 4, 4, { stride: 2, padding: 1 }), [2, 6, 5, 5]],
  ['transposed conv from 1x1 (DCGAN input)', () => new ConvTranspose2d(16, 8, 4, { bias: false }), [3, 16, 1, 1]],
  ['batch norm (training)', () => new BatchNorm2d(6), [4, 6, 5, 5]],
  ['instance norm', () => new InstanceNorm2d(6, { affine: true }), [2, 6, 5, 5]],
  ['group norm', () => new GroupNorm(3, 6), [2, 6, 5, 5]],
  ['layer norm over C, H, W (the WGAN critic)', () => new LayerNorm([6, 5, 5]), [2, 6, 5, 5]],
  [
    'conditional batch norm (per-attribute scale and shift)',
    () => {
      const cbn = new ConditionalBatchNorm2d(6, [3, 2]);
      noGrad(() => {
        init.normal_(cbn.gamma[0]!.weight, 0, 0.5);
        init.normal_(cbn.beta[1]!.weight, 0, 0.5);
      });
      return new Fn(
        (x) =>
          tidy(() => {
            const h = tensor(BigInt64Array.from([0, 2], BigInt));
            const e = tensor(BigInt64Array.from([1, 0], BigInt));
            return cbn.forward(x, [h, e]);
          }),
        cbn,
      );
    },
    [2, 6, 5, 5],
  ],
  [
    'relu, leaky relu, tanh, sigmoid',
    () => new Sequential(new ReLU(), new LeakyReLU(0.2), new Tanh(), new Sigmoid()),
    [2, 6, 5, 5],
  ],
  [
    'nearest up-sampling + conv',
    () => new Sequential(new Upsample(2), new Conv2d(6, 4, 3, { padding: 1 })),
    [2, 6, 4, 4],
  ],
  ['bilinear resize', () => new Fn((x) => F.interpolate(x, { size: [7, 9], mode: 'bilinear' })), [2, 6, 4, 4]],
  [
    'average and max pooling',
    () => new Fn((x) => tidy(() => F.avgPool2d(F.maxPool2d(x, 2), 2, { stride: 1 }))),
    [2, 6, 8, 8],
  ],
  ['adaptive average pooling', () => new Fn((x) => F.adaptiveAvgPool2d(x, [1, 1])), [2, 6, 5, 5]],
  ['gated linear unit (channel halves)', () => new Fn((x) => glu(x)), [2, 6, 5, 5]],
  [
    'channel concatenation with a broadcast code (conditioning)',
    () => {
      const conv = new Conv2d(10, 4, 3, { padding: 1 });
      return new Fn(
        (x) =>
          tidy(() => {
            const code = x.mean([2, 3], true).narrow(1, 0, 4).expand(x.size(0), 4, x.size(2), x.size(3));
            return conv.forward(cat([x, code], 1));
          }),
        conv,
      );
    },
    [2, 6, 5, 5],
  ],
  ['spectrally normalised conv', () => spectralNorm(new Conv2d(6, 8, 3, { padding: 1 })), [2, 6, 5, 5]],
  [
    'flatten + linear (discriminator head)',
    () => {
      const fc = new Linear(6 * 4 * 4, 3);
      return new Fn((x) => tidy(() => fc.forward(x.flatten(1))), fc);
    },
    [2, 6, 4, 4],
  ],
  [
    'regions as words: reshape to [B, C, HW] and attention (AttnGAN, DAMSM)',
    () =>
      new Fn((x) =>
        tidy(() => {
          const [b, c, h, w] = x.shape as [number, number, number, number];
          const regions = x.reshape(b, c, h * w);
          const words = regions.narrow(2, 0, 3); // [B, C, 3]
          const attn = words.transpose(1, 2).bmm(regions).softmax(1); // [B, 3, HW]
          return words.bmm(attn).reshape(b, c, h, w);
        }),
      ),
    [2, 6, 4, 4],
  ],
  [
    'zero padding + reflect padding',
    () => new Fn((x) => tidy(() => F.pad(F.pad(x, [1, 1, 1, 1]), [1, 1, 1, 1], 'reflect'))),
    [2, 6, 4, 4],
  ],
];

/** Output, input gradient and parameter gradients of one forward + backward. */
function run(net: Net, x0: Tensor, format: MemoryFormat, bf16: boolean): { y: Tensor; grads: Tensor[] } {
  net.zeroGrad();
  return tidy(() => {
    const x = x0.contiguous(format).detach().requiresGrad_(true);
    const y = bf16 ? autocast('cpu', 'bfloat16', () => net.forward(x)) : net.forward(x);
    // A weighted sum: every output element gets its own gradient.
    const w = noGrad(() =>
      zeros(y.shape)
        .add(1)
        .cumsum(y.rank - 1)
        .tanh(),
    );
    y.float().mul(w).sum().backward();
    return { y: y.float(), grads: [x.grad!, ...net.parameters().map((p) => p.grad!)] };
  });
}

describe('channels-last memory format', () => {
  test('tensors: contiguous(format), isContiguousIn, errors for the wrong rank', () => {
    using x = randn([2, 3, 4, 5]);
    using cl = x.contiguous('channelsLast');
    assert.equal(cl.isContiguousIn('channelsLast'), true);
    assert.equal(cl.isContiguous, false);
    assert.deepEqual(cl.shape, [2, 3, 4, 5]);
    assert.deepEqual(Array.from(vals(cl)), Array.from(vals(x)), 'same values, another layout');
    using back = cl.contiguous();
    assert.equal(back.isContiguous, true);
    using v = randn([3, 4]);
    assert.equal(v.isContiguousIn('channelsLast'), false);
    assert.throws(() => v.contiguous('channelsLast'), /channels-last needs a 4-d tensor, got 2-d/);
    assert.throws(() => x.contiguous('nhwc' as MemoryFormat), /memory format must be one of contiguous, channelsLast/);
  });

  test('Module.to({ memoryFormat }) lays out 4-d parameters, keeps references, gradient flags and values', () => {
    manualSeed(3);
    const net = new Sequential(new Conv2d(3, 4, 3), new BatchNorm2d(4), new Linear(4, 2));
    const before = net.parameters();
    const copies = before.map((p) => p.clone());
    before[1]!.requiresGrad_(false);
    net.to({ memoryFormat: 'channelsLast' });
    const after = net.parameters();
    after.forEach((p, i) => {
      assert.equal(p, before[i], 'the same Tensor objects (optimizers keep working)');
      assert.deepEqual(Array.from(vals(p)), Array.from(vals(copies[i]!)));
      if (p.rank === 4) assert.ok(p.isContiguousIn('channelsLast'));
      else assert.ok(p.isContiguous);
    });
    assert.equal(after[1]!.requiresGrad, false);
    assert.equal(after[0]!.requiresGrad, true);
    net.to({ memoryFormat: 'contiguous' });
    assert.ok(after[0]!.isContiguous);
    for (const c of copies) c.dispose();
    net.dispose();
  });

  for (const [name, make, shape] of FAMILIES)
    test(`${name}: fp32 channels-last = default layout; bf16 autocast ≈ fp32`, () => {
      manualSeed(11);
      const net = make();
      using x = randn(shape);
      // Every run starts from the same buffers (spectral norm's power-iteration vector moves on
      // each training-mode forward pass, batch norm's running statistics too).
      const buffers = net.namedBuffers().map(([, b]) => [b, b.clone()] as const);
      const fresh = (): void => noGrad(() => buffers.forEach(([b, c]) => b.copy_(c)));
      const ref = run(net, x, 'contiguous', false);
      net.to({ memoryFormat: 'channelsLast' });
      fresh();
      const cl = run(net, x, 'channelsLast', false);
      fresh();
      const bf = run(net, x, 'channelsLast', true);
      net.to({ memoryFormat: 'contiguous' });
      fresh();
      const bfPlain = run(net, x, 'contiguous', true);
      for (const [, c] of buffers) c.dispose();
      assert.ok(relErr(cl.y, ref.y) < 1e-4, `fp32 output: ${relErr(cl.y, ref.y)}`);
      ref.grads.forEach((g, i) => {
        assert.ok(relErr(cl.grads[i]!, g) < 1e-4, `fp32 gradient ${i}: ${relErr(cl.grads[i]!, g)}`);
        assert.ok(relErr(bf.grads[i]!, g) < 3e-2, `bf16 channels-last gradient ${i}: ${relErr(bf.grads[i]!, g)}`);
        assert.ok(relErr(bfPlain.grads[i]!, g) < 3e-2, `bf16 gradient ${i}: ${relErr(bfPlain.grads[i]!, g)}`);
      });
      assert.ok(relErr(bf.y, ref.y) < 3e-2, `bf16 output: ${relErr(bf.y, ref.y)}`);
      for (const r of [ref, cl, bf, bfPlain]) {
        r.y.dispose();
        for (const g of r.grads) g.dispose();
      }
      net.dispose();
    });

  test('convolution stacks keep channels-last from layer to layer', () => {
    manualSeed(5);
    const net = new Sequential(
      new Conv2d(3, 8, 3, { padding: 1 }),
      new BatchNorm2d(8),
      new LeakyReLU(0.2),
      new Upsample(2),
      new ConvTranspose2d(8, 4, 4, { stride: 2, padding: 1 }),
      new Tanh(),
    ).to({ memoryFormat: 'channelsLast' });
    using x = tidy(() => randn([2, 3, 6, 6]).contiguous('channelsLast'));
    using y = net.forward(x);
    // libtorch 1.13's CPU kernels return some of these in the default layout (its 'auto' is NCHW).
    if (backendInfo().major >= 2)
      assert.ok(y.isContiguousIn('channelsLast'), 'the output is channels-last: no layer reordered it back');
    net.dispose();
  });

  test('Adam on channels-last parameters: same steps as on the default layout; restored state takes the layout', () => {
    const steps = (format: MemoryFormat, fused: boolean): Float32Array => {
      manualSeed(8);
      const conv = new Conv2d(4, 4, 3).to({ memoryFormat: format });
      const opt = new Adam(conv.parameters(), { lr: 1e-2, fused });
      using x = tidy(() => randn([2, 4, 6, 6]).contiguous(format));
      for (let i = 0; i < 3; i++)
        tidy(() => {
          opt.zeroGrad();
          conv.forward(x).square().mean().backward();
          opt.step();
        });
      // A checkpoint round trip: the state comes back row-major and must follow the weights.
      const sd = opt.stateDict();
      const copy = new Map([...sd.tensors].map(([k, t]) => [k, tidy(() => t.contiguous().clone())]));
      const opt2 = new Adam(conv.parameters(), { lr: 1e-2, fused });
      opt2.loadStateDict({ scalars: sd.scalars, tensors: copy });
      for (const t of copy.values()) t.dispose();
      const st = opt2.stateDict().tensors.get('exp_avg.0')!;
      assert.equal(st.isContiguousIn(format), true, `restored state is ${format}`);
      tidy(() => {
        opt2.zeroGrad();
        conv.forward(x).square().mean().backward();
        opt2.step();
      });
      const w = vals(conv.weight);
      opt.dispose();
      opt2.dispose();
      conv.dispose();
      return w;
    };
    for (const fused of [true, false]) {
      const a = steps('contiguous', fused);
      const b = steps('channelsLast', fused);
      let d = 0;
      for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i]! - b[i]!));
      assert.ok(d < 1e-5, `fused ${fused}: weights differ by ${d}`);
    }
  });

  test('safetensors of channels-last weights hold row-major bytes: they load into either layout', () => {
    manualSeed(9);
    const a = new Conv2d(3, 4, 3).to({ memoryFormat: 'channelsLast' });
    const b = new Conv2d(3, 4, 3);
    const plain = new Conv2d(3, 4, 3);
    plain.loadStateDict(a.stateDict());
    const bytes = encodeSafetensors(a.stateDict());
    assert.deepEqual(bytes, encodeSafetensors(plain.stateDict()), 'the same bytes as the default layout');
    const { tensors } = decodeSafetensors(bytes);
    b.to({ memoryFormat: 'channelsLast' }).loadStateDict(tensors);
    for (const t of tensors.values()) t.dispose();
    assert.deepEqual(Array.from(vals(b.weight)), Array.from(vals(a.weight)));
    assert.ok(b.weight.isContiguousIn('channelsLast'));
    for (const m of [a, b, plain]) m.dispose();
  });
});

test('no tensor is left behind', () => {
  assert.equal(liveTensors(), START);
});
