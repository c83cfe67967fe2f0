// safetensors I/O: byte-identical output to the reference serializer, exact round trips for every
// dtype, clear errors for corrupt files, optimizer and module checkpoints, and no leaked tensors.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';

import { Tensor, liveTensors, manualSeed, randn, scalar, tensor, tidy, zeros } from '../../src/engine/index.js';
import { native } from '../../src/engine/internal.js';
import { dtypeCode, type DType } from '../../src/engine/dtype.js';
import {
  SafetensorsError,
  decodeSafetensors,
  encodeSafetensors,
  loadModule,
  loadOptimizerState,
  loadSafetensors,
  saveModule,
  saveOptimizerState,
  saveSafetensors,
} from '../../src/io/index.js';
import { Linear, Module } from '../../src/nn/index.js';
import { Adam } from '../../src/optim/index.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cai-safetensors-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));

/** Runs fn and checks that it leaves the live-tensor count where it found it. */
function noLeaks(fn: () => void): void {
  const before = liveTensors();
  fn();
  assert.equal(liveTensors(), before, 'tensors leaked');
}

function disposeAll(m: Map<string, Tensor>): void {
  for (const t of m.values()) t.dispose();
}

/** A tensor from raw little-endian element bytes (to set exact bit patterns, e.g. of halves). */
function fromBits(bits: ArrayBufferView, shape: number[], dtype: DType): Tensor {
  return new Tensor(native.fromBuffer(bits, shape, dtypeCode(dtype), -1));
}

function bytesOf(t: Tensor): Buffer {
  return Buffer.from(native.toBuffer(t.handle));
}

function assertSameTensor(a: Tensor, b: Tensor, name: string): void {
  assert.equal(a.dtype, b.dtype, `${name}: dtype`);
  assert.deepEqual(a.shape, b.shape, `${name}: shape`);
  assert.ok(bytesOf(a).equals(bytesOf(b)), `${name}: bytes differ`);
}

// ---- the reference's own expected bytes ----------------------------------------------------------

test('matches the reference serializer byte for byte (huggingface/safetensors tests)', () => {
  noLeaks(() => {
    // safetensors/src/tensor.rs, `test_serialization`: "attn.0", F32, shape [1, 2, 3], 0..5.
    const expected = [
      64, 0, 0, 0, 0, 0, 0, 0, 123, 34, 97, 116, 116, 110, 46, 48, 34, 58, 123, 34, 100, 116, 121, 112, 101, 34, 58, 34,
      70, 51, 50, 34, 44, 34, 115, 104, 97, 112, 101, 34, 58, 91, 49, 44, 50, 44, 51, 93, 44, 34, 100, 97, 116, 97, 95,
      111, 102, 102, 115, 101, 116, 115, 34, 58, 91, 48, 44, 50, 52, 93, 125, 125, 0, 0, 0, 0, 0, 0, 128, 63, 0, 0, 0,
      64, 0, 0, 64, 64, 0, 0, 128, 64, 0, 0, 160, 64,
    ];
    const t = tensor([0, 1, 2, 3, 4, 5], { shape: [1, 2, 3] });
    assert.deepEqual([...encodeSafetensors({ 'attn.0': t })], expected);
    // `test_serialization_forced_alignement`: "attn0", shape [1, 1, 2, 3]; the header needs 7 spaces.
    const aligned = [
      72, 0, 0, 0, 0, 0, 0, 0, 123, 34, 97, 116, 116, 110, 48, 34, 58, 123, 34, 100, 116, 121, 112, 101, 34, 58, 34, 70,
      51, 50, 34, 44, 34, 115, 104, 97, 112, 101, 34, 58, 91, 49, 44, 49, 44, 50, 44, 51, 93, 44, 34, 100, 97, 116, 97,
      95, 111, 102, 102, 115, 101, 116, 115, 34, 58, 91, 48, 44, 50, 52, 93, 125, 125, 32, 32, 32, 32, 32, 32, 32, 0, 0,
      0, 0, 0, 0, 128, 63, 0, 0, 0, 64, 0, 0, 64, 64, 0, 0, 128, 64, 0, 0, 160, 64,
    ];
    const t4 = t.reshape(1, 1, 2, 3);
    assert.deepEqual([...encodeSafetensors(new Map([['attn0', t4]]))], aligned);
    // `test_empty`: no tensors, without and with {"framework": "pt"} metadata.
    assert.deepEqual([...encodeSafetensors({})], [8, 0, 0, 0, 0, 0, 0, 0, 123, 125, 32, 32, 32, 32, 32, 32]);
    assert.deepEqual(
      [...encodeSafetensors({}, { framework: 'pt' })],
      [
        40, 0, 0, 0, 0, 0, 0, 0, 123, 34, 95, 95, 109, 101, 116, 97, 100, 97, 116, 97, 95, 95, 34, 58, 123, 34, 102,
        114, 97, 109, 101, 119, 111, 114, 107, 34, 58, 34, 112, 116, 34, 125, 125, 32, 32, 32, 32, 32,
      ],
    );
    const back = decodeSafetensors(encodeSafetensors({ 'attn.0': t }));
    assertSameTensor(back.tensors.get('attn.0')!, t, 'attn.0');
    disposeAll(back.tensors);
    t4.dispose();
    t.dispose();
  });
});

test('orders tensors as the reference does: by descending dtype alignment, then by UTF-8 name', () => {
  noLeaks(() => {
    const ts: Record<string, Tensor> = {
      b: zeros([1], { dtype: 'bool' }),
      u: zeros([1], { dtype: 'uint8' }),
      i8: zeros([1], { dtype: 'int8' }),
      i16: zeros([1], { dtype: 'int16' }),
      h: zeros([1], { dtype: 'float16' }),
      bf: zeros([1], { dtype: 'bfloat16' }),
      i32: zeros([1], { dtype: 'int32' }),
      f: zeros([1]),
      d: zeros([1], { dtype: 'float64' }),
      l: zeros([1], { dtype: 'int64' }),
      // Integer-like names must keep their place (a JS object would move them first) and
      // U+FFFF sorts before U+1F600 in UTF-8 though not in UTF-16.
      '10': zeros([1]),
      '2': zeros([1]),
      '\uffff': zeros([1]),
      '\u{1f600}': zeros([1]),
    };
    const buf = encodeSafetensors(ts);
    const n = Number(buf.readBigUInt64LE(0));
    assert.equal(n % 8, 0);
    const header = buf.subarray(8, 8 + n).toString('utf8');
    assert.ok(!/\s/.test(header.trimEnd()), 'compact JSON');
    const names = [...header.matchAll(/"([^"]+)":\{"dtype"/gu)].map((m) => m[1]);
    assert.deepEqual(names, ['l', 'd', '10', '2', 'f', '\uffff', '\u{1f600}', 'i32', 'bf', 'h', 'i16', 'i8', 'u', 'b']);
    for (const t of Object.values(ts)) t.dispose();
  });
});

// ---- round trips ---------------------------------------------------------------------------------

function everyDtype(): Map<string, Tensor> {
  const m = new Map<string, Tensor>();
  // float16: +0, -0, 1, max, smallest subnormal, +inf, -inf, a NaN with payload.
  m.set(
    'f16',
    fromBits(new Uint16Array([0, 0x8000, 0x3c00, 0x7bff, 0x0001, 0x7c00, 0xfc00, 0x7e01]), [2, 4], 'float16'),
  );
  // bfloat16: 1, -2, max, smallest subnormal, +inf, a NaN with payload.
  m.set('bf16', fromBits(new Uint16Array([0x3f80, 0xc000, 0x7f7f, 0x0001, 0x7f80, 0x7fc1]), [3, 2], 'bfloat16'));
  m.set('f32', fromBits(new Uint32Array([0x80000000, 0x00000001, 0x7f7fffff, 0x7fc00123, 0x3f800000]), [5], 'float32'));
  m.set('f64', tensor(new Float64Array([Math.PI, -0, Number.MIN_VALUE, Number.MAX_VALUE, 1e-300])));
  m.set('i64', tensor(new BigInt64Array([2n ** 62n + 1n, -(2n ** 63n), 2n ** 31n + 5n, -1n, 2n ** 53n + 1n])));
  m.set('i32', tensor(new Int32Array([2 ** 31 - 1, -(2 ** 31), 0, 7]), { shape: [2, 2] }));
  m.set('i16', tensor(new Int16Array([32767, -32768, 1])));
  m.set('i8', tensor(new Int8Array([127, -128, 0])));
  m.set('u8', tensor(new Uint8Array([0, 255, 128]), { shape: [1, 3] }));
  m.set(
    'bool',
    tensor([
      [true, false],
      [false, true],
    ]),
  );
  m.set('scalar.f64', scalar(2.5, { dtype: 'float64' }));
  m.set('scalar.i64', scalar(-9007199254740991, { dtype: 'int64' }));
  m.set('empty', zeros([0]));
  m.set('empty.i32', zeros([2, 0, 3], { dtype: 'int32' }));
  return m;
}

test('every dtype (half bit patterns, int64 beyond 2^53, bool, 0-d, empty) round-trips exactly', () => {
  noLeaks(() => {
    const src = everyDtype();
    const back = decodeSafetensors(encodeSafetensors(src));
    assert.deepEqual([...back.tensors.keys()].sort(), [...src.keys()].sort());
    for (const [name, t] of src) assertSameTensor(back.tensors.get(name)!, t, name);
    assert.deepEqual(back.metadata, {});
    // Spot-check decoded values, not just bytes.
    const i64 = back.tensors.get('i64')!.toTypedArray() as BigInt64Array;
    assert.equal(i64[0], 2n ** 62n + 1n);
    assert.equal(i64[4], 2n ** 53n + 1n);
    assert.deepEqual(
      Array.from(back.tensors.get('f16')!.toTypedArray() as Uint16Array),
      [0, 0x8000, 0x3c00, 0x7bff, 1, 0x7c00, 0xfc00, 0x7e01],
    );
    assert.deepEqual(back.tensors.get('bool')!.toArray(), [
      [true, false],
      [false, true],
    ]);
    assert.equal(back.tensors.get('scalar.f64')!.rank, 0);
    assert.equal(back.tensors.get('scalar.f64')!.item(), 2.5);
    assert.deepEqual(back.tensors.get('empty.i32')!.shape, [2, 0, 3]);
    disposeAll(back.tensors);

    // The same through a file, with metadata.
    const file = path.join(dir, 'all.safetensors');
    saveSafetensors(file, src, { note: 'every dtype' });
    assert.ok(fs.readFileSync(file).equals(encodeSafetensors(src, { note: 'every dtype' })));
    const loaded = loadSafetensors(file);
    for (const [name, t] of src) assertSameTensor(loaded.tensors.get(name)!, t, name);
    assert.deepEqual(loaded.metadata, { note: 'every dtype' });
    disposeAll(loaded.tensors);
    disposeAll(src);
  });
});

test('metadata round-trips; an empty object is still written, undefined is not', () => {
  noLeaks(() => {
    const t = tensor([1, 2, 3]);
    const meta = { format: 'pt', 'ünïcødé 😀': 'line1\nline2 "quoted" \\ \u0001', empty: '' };
    const back = decodeSafetensors(encodeSafetensors({ t }, meta));
    assert.deepEqual(back.metadata, meta);
    disposeAll(back.tensors);
    assert.match(encodeSafetensors({ t }, {}).toString('utf8'), /^.{8}\{"__metadata__":\{\},"t":/su);
    assert.doesNotMatch(encodeSafetensors({ t }).toString('utf8'), /__metadata__/u);
    // Keys are written sorted, so equal inputs give equal bytes whatever their insertion order.
    assert.ok(encodeSafetensors({ t }, { a: '1', b: '2' }).equals(encodeSafetensors({ t }, { b: '2', a: '1' })));
    assert.throws(() => encodeSafetensors({ t }, { n: 3 } as unknown as Record<string, string>), /metadata value 'n'/u);
    assert.throws(() => encodeSafetensors({ __metadata__: t }), /reserved/u);
    // '__proto__' is an ordinary key, not a prototype.
    const proto = JSON.parse('{"__proto__": "p", "x": "y"}') as Record<string, string>;
    const withProto = decodeSafetensors(encodeSafetensors({ t }, proto));
    assert.deepEqual(Object.entries(withProto.metadata), [
      ['__proto__', 'p'],
      ['x', 'y'],
    ]);
    disposeAll(withProto.tensors);
    t.dispose();
  });
});

test('tensors that are non-contiguous or require grad are written as their values', () => {
  noLeaks(() => {
    const a = tensor([
      [1, 2, 3],
      [4, 5, 6],
    ]).requiresGrad_();
    const at = a.t();
    const back = decodeSafetensors(encodeSafetensors({ at }));
    assert.deepEqual(back.tensors.get('at')!.toArray(), [
      [1, 4],
      [2, 5],
      [3, 6],
    ]);
    assert.equal(back.tensors.get('at')!.requiresGrad, false);
    disposeAll(back.tensors);
    at.dispose();
    a.dispose();
  });
});

// ---- corrupt files -------------------------------------------------------------------------------

/** A file from a header object (or raw header text) and data bytes, with a correct size prefix. */
function file(header: unknown, data: number[] | Uint8Array = []): Buffer {
  const text = Buffer.isBuffer(header)
    ? header
    : Buffer.from(typeof header === 'string' ? header : JSON.stringify(header), 'utf8');
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(BigInt(text.length));
  return Buffer.concat([prefix, text, Buffer.from(data)]);
}

const F32 = (shape: number[], begin: number, end: number) => ({ dtype: 'F32', shape, data_offsets: [begin, end] });

test('corrupt files fail with a SafetensorsError that names the problem (and leak nothing)', () => {
  const cases: [string, Buffer, RegExp][] = [
    ['truncated before the header size', Buffer.from([1, 0, 0]), /truncated.*8-byte header size/u],
    [
      'header size larger than the file',
      file('{}').subarray(0, 9),
      /Header size 2 is larger than the file \(9 bytes\)/u,
    ],
    [
      'huge header size',
      Buffer.concat([Buffer.from([0, 0, 0, 0, 0, 0, 0, 1]), Buffer.from('{}')]),
      /Header size \d+ is larger than the file/u,
    ],
    ['invalid JSON', file('{"a": {"dtype": "F32",'), /not valid JSON/u],
    ['byte order mark', file('\ufeff{}'), /not valid JSON/u],
    ['invalid UTF-8', file(Buffer.from([0x7b, 0xff, 0x7d])), /not valid UTF-8/u],
    ['not an object', file('[1, 2]'), /must be a JSON object but is an array/u],
    ['entry not an object', file({ a: 3 }), /entry 'a' must be an object/u],
    [
      'unknown dtype',
      file({ a: { dtype: 'F128', shape: [1], data_offsets: [0, 16] } }, new Uint8Array(16)),
      /unknown dtype "F128"/u,
    ],
    [
      'unsupported dtype',
      file({ a: { dtype: 'U16', shape: [1], data_offsets: [0, 2] } }, [0, 0]),
      /dtype U16, which the engine does not support/u,
    ],
    ['missing dtype', file({ a: { shape: [1], data_offsets: [0, 4] } }, [0, 0, 0, 0]), /no dtype/u],
    [
      'bad shape',
      file({ a: { dtype: 'F32', shape: [-1], data_offsets: [0, 4] } }, [0, 0, 0, 0]),
      /shape\[0\] must be a non-negative integer/u,
    ],
    [
      'bad offsets',
      file({ a: { dtype: 'F32', shape: [1], data_offsets: [0] } }, [0, 0, 0, 0]),
      /data_offsets must be \[begin, end\]/u,
    ],
    ['offsets reversed', file({ a: F32([1], 4, 0) }, [0, 0, 0, 0]), /end before they begin/u],
    ['offsets out of range', file({ a: F32([2], 0, 8) }, [0, 0, 0, 0]), /run past the end of the data \(4 bytes\)/u],
    [
      'overlapping offsets',
      file({ a: F32([2], 0, 8), b: F32([2], 4, 12) }, new Uint8Array(12)),
      /'b' data_offsets \[4, 12\] overlap the previous tensor 'a'/u,
    ],
    [
      'gap between tensors',
      file({ a: F32([1], 0, 4), b: F32([1], 8, 12) }, new Uint8Array(12)),
      /not contiguous: expected the data to begin at 4/u,
    ],
    [
      'data not starting at 0',
      file({ a: F32([1], 4, 8) }, new Uint8Array(8)),
      /not contiguous: expected the data to begin at 0/u,
    ],
    ['trailing bytes', file({ a: F32([1], 0, 4) }, new Uint8Array(6)), /cover 4 bytes of data but the file holds 6/u],
    [
      'shape x dtype size mismatch',
      file({ a: F32([3], 0, 8) }, new Uint8Array(8)),
      /shape \[3\] with dtype F32 needs 12 bytes, but its data_offsets span 8/u,
    ],
    ['metadata not strings', file({ __metadata__: { epoch: 3 } }), /__metadata__ value 'epoch' must be a string/u],
    [
      'bool byte out of range (after a good tensor)',
      file({ a: F32([1], 0, 4), b: { dtype: 'BOOL', shape: [2], data_offsets: [4, 6] } }, [0, 0, 0, 0, 1, 2]),
      /'b' \(BOOL\) holds byte 2 at element 1/u,
    ],
  ];
  noLeaks(() => {
    for (const [what, buf, message] of cases) {
      assert.throws(
        () => decodeSafetensors(buf),
        (e: unknown) => {
          assert.ok(e instanceof SafetensorsError, `${what}: expected a SafetensorsError, got ${String(e)}`);
          assert.match(e.message, message, what);
          return true;
        },
      );
    }
  });
});

test('loading a truncated or corrupt file names the file', () => {
  noLeaks(() => {
    const t = randn([16, 16]);
    const good = encodeSafetensors({ w: t });
    t.dispose();
    const p = path.join(dir, 'truncated.safetensors');
    fs.writeFileSync(p, good.subarray(0, good.length - 10));
    assert.throws(
      () => loadSafetensors(p),
      (e: Error) =>
        e instanceof SafetensorsError && e.message.startsWith(`${p}: `) && /run past the end/u.test(e.message),
    );
    fs.writeFileSync(p, good.subarray(0, 4));
    assert.throws(() => loadSafetensors(p), /truncated/u);
    fs.writeFileSync(p, good.subarray(0, 20));
    assert.throws(() => loadSafetensors(p), /larger than the file/u);
    assert.throws(() => loadSafetensors(path.join(dir, 'missing.safetensors')), /ENOENT/u);
  });
});

test('saving is atomic: it replaces the old file and leaves no temporary files, even when it fails', () => {
  noLeaks(() => {
    const sub = fs.mkdtempSync(path.join(dir, 'atomic-'));
    const p = path.join(sub, 'ckpt.safetensors');
    const a = tensor([1, 2]);
    const b = tensor([3, 4, 5]);
    saveSafetensors(p, { a });
    saveSafetensors(p, { b });
    assert.deepEqual(fs.readdirSync(sub), ['ckpt.safetensors']);
    const loaded = loadSafetensors(p);
    assert.deepEqual([...loaded.tensors.keys()], ['b']);
    disposeAll(loaded.tensors);
    const gone = tensor([1]);
    gone.dispose();
    assert.throws(() => saveSafetensors(p, { gone }), /disposed/u);
    assert.deepEqual(fs.readdirSync(sub), ['ckpt.safetensors']);
    assert.throws(() => saveSafetensors(path.join(sub, 'no-such-dir', 'x.safetensors'), { a }), /ENOENT/u);
    assert.deepEqual(fs.readdirSync(sub), ['ckpt.safetensors']);
    a.dispose();
    b.dispose();
  });
});

// ---- optimizer and module checkpoints ------------------------------------------------------------

function trainStep(model: Linear, opt: Adam, x: Tensor): void {
  opt.zeroGrad();
  tidy(() => {
    model.forward(x).square().mean().backward();
  });
  opt.step();
}

test('optimizer state round trip: a restored Linear + Adam continues exactly like the original', () => {
  noLeaks(() => {
    manualSeed(1);
    const x = randn([4, 3]);
    const model = new Linear(3, 2);
    const opt = new Adam(model.parameters(), { lr: 0.01, betas: [0.8, 0.95], eps: 1e-6 });
    trainStep(model, opt, x);
    trainStep(model, opt, x);

    const mPath = path.join(dir, 'model.safetensors');
    const oPath = path.join(dir, 'adam.safetensors');
    saveModule(mPath, model, { step: '2' });
    saveOptimizerState(oPath, opt.stateDict());

    const fresh = new Linear(3, 2); // different initial weights
    const freshOpt = new Adam(fresh.parameters());
    const res = loadModule(mPath, fresh);
    assert.deepEqual(res, { missing: [], unexpected: [], metadata: { step: '2' } });
    const state = loadOptimizerState(oPath);
    assert.deepEqual(state.scalars, { beta1: 0.8, beta2: 0.95, eps: 1e-6, weightDecay: 0, lr: 0.01, step: 2 });
    assert.deepEqual([...state.tensors.keys()].sort(), [
      'exp_avg.0',
      'exp_avg.1',
      'exp_avg_sq.0',
      'exp_avg_sq.1',
      'step.0',
      'step.1',
    ]);
    freshOpt.loadStateDict(state);
    disposeAll(state.tensors);
    assert.equal(freshOpt.stepCount, 2);

    trainStep(model, opt, x);
    trainStep(fresh, freshOpt, x);
    for (const [name, p] of model.stateDict()) assertSameTensor(fresh.stateDict().get(name)!, p, name);
    assert.equal(freshOpt.stepCount, 3);

    opt.dispose();
    freshOpt.dispose();
    model.dispose();
    fresh.dispose();
    x.dispose();
  });
});

test('optimizer scalars keep non-finite values; other files are refused', () => {
  noLeaks(() => {
    const p = path.join(dir, 'opt-special.safetensors');
    const t = zeros([2]);
    saveOptimizerState(p, {
      scalars: { a: Infinity, b: -Infinity, c: NaN, d: 0.1 + 0.2 },
      tensors: new Map([['m.0', t]]),
    });
    const s = loadOptimizerState(p);
    assert.deepEqual(s.scalars, { a: Infinity, b: -Infinity, c: NaN, d: 0.1 + 0.2 });
    assertSameTensor(s.tensors.get('m.0')!, t, 'm.0');
    disposeAll(s.tensors);
    const plain = path.join(dir, 'plain.safetensors');
    saveSafetensors(plain, { t });
    assert.throws(() => loadOptimizerState(plain), /not an optimizer state/u);
    t.dispose();
  });
});

class Tiny extends Module {
  readonly fc = this.module('fc', new Linear(2, 2));
  readonly counter = this.buffer('counter', zeros([1], { dtype: 'int64' }));
}

test('saveModule / loadModule: parameters and buffers, strict and non-strict loading', () => {
  noLeaks(() => {
    const a = new Tiny();
    a.counter.fill_(41);
    const p = path.join(dir, 'tiny.safetensors');
    saveModule(p, a);
    const b = new Tiny();
    loadModule(p, b);
    for (const [name, t] of a.stateDict()) assertSameTensor(b.stateDict().get(name)!, t, name);

    // A file with one name missing and one extra.
    const w = a.fc.weight;
    const odd = path.join(dir, 'odd.safetensors');
    saveSafetensors(odd, { 'fc.weight': w, extra: w });
    assert.throws(() => loadModule(odd, b), /missing \[fc\.bias, counter\], unexpected \[extra\]/u);
    const res = loadModule(odd, b, { strict: false });
    assert.deepEqual(res.missing, ['fc.bias', 'counter']);
    assert.deepEqual(res.unexpected, ['extra']);
    a.dispose();
    b.dispose();
  });
});
