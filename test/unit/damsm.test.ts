// DAMSM (AttnGAN, Xu et al. 2018): text and image encoders, word attention against a direct
// transcription of func_attention, the word loss against the reference's per-caption loop, the
// sentence loss and its class masking, gradients, a small training run, and memory.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import {
  F,
  eye,
  liveTensors,
  manualSeed,
  randn,
  setNumThreads,
  stack,
  tensor,
  tidy,
  type Tensor,
} from '../../src/engine/index.js';
import {
  DamsmImageEncoder,
  DamsmTextEncoder,
  damsmLoss,
  sentenceLoss,
  wordAttention,
  wordLoss,
  type ClassIds,
} from '../../src/models/index.js';
import { Adam } from '../../src/optim/index.js';
import { Vocabulary } from '../../src/text/index.js';
import { Prng } from '../../src/util/prng.js';

// These ops are tiny: one intra-op thread is as fast, and unlike two it does not collapse when
// another process loads the CPU (the training test took 110 s instead of 2 s with two threads).
setNumThreads(1);

const START = liveTensors();

const scoped = (fn: () => void) => () => {
  tidy(fn);
};

const vals = (t: Tensor): number[] => Array.from(t.toFloat32Array());

function close(actual: number[], expected: number[], tol = 1e-5, what = ''): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < expected.length; i++)
    assert.ok(
      Math.abs(actual[i]! - expected[i]!) <= tol * (1 + Math.abs(expected[i]!)),
      `${what}[${i}]: expected ${expected[i]}, got ${actual[i]}`,
    );
}

/** ids [B, L] padded with 0 after each length, for hand-made batches. */
function paddedIds(lengths: number[], len: number, vocabSize: number, rng: Prng): Tensor {
  const rows = lengths.map((n) => Array.from({ length: len }, (_, t) => (t < n ? 2 + rng.int(vocabSize - 2) : 0)));
  return tensor(rows, { dtype: 'int64' });
}

function paddingMask(lengths: number[], len: number): Tensor {
  return tensor(lengths.map((n) => Array.from({ length: len }, (_, t) => t >= n)));
}

describe('DamsmTextEncoder', () => {
  test(
    'shapes, zero word features past each length, sentence = both directions’ final states',
    scoped(() => {
      manualSeed(1);
      const enc = new DamsmTextEncoder({ vocabSize: 20, embeddingDim: 12, hiddenSize: 10 }).eval();
      const lengths = [5, 2, 3];
      const ids = paddedIds(lengths, 5, 20, new Prng(1));
      const { words, sentence } = enc.forward(ids, lengths);
      assert.deepEqual(words.shape, [3, 10, 5]);
      assert.deepEqual(sentence.shape, [3, 10]);
      lengths.forEach((n, b) => {
        const w = words.select(0, b); // [D, L]
        if (n < 5)
          assert.ok(
            vals(w.narrow(1, n, 5 - n)).every((v) => v === 0),
            `padding of caption ${b}`,
          );
        // Forward half: the last real word's output; backward half: the first word's output.
        close(vals(sentence.select(0, b).narrow(0, 0, 5)), vals(w.narrow(0, 0, 5).select(1, n - 1)), 1e-6, 'fwd');
        close(vals(sentence.select(0, b).narrow(0, 5, 5)), vals(w.narrow(0, 5, 5).select(1, 0)), 1e-6, 'bwd');
        // A caption encodes the same alone as in the padded batch.
        const alone = enc.forward(ids.narrow(0, b, 1).narrow(1, 0, n), [n]);
        close(vals(alone.words), vals(w.narrow(1, 0, n)), 1e-5, `words of caption ${b}`);
        close(vals(alone.sentence), vals(sentence.select(0, b)), 1e-5, `sentence of caption ${b}`);
      });
      // lengths as an int64 tensor give the same result.
      const again = enc.forward(ids, tensor(lengths, { dtype: 'int64' }));
      close(vals(again.words), vals(words), 0, 'tensor lengths');
      // AttnGAN's embedding init: U(-0.1, 0.1), the <pad> row zero.
      const table = vals(enc.embed.weight);
      assert.ok(table.every((v) => Math.abs(v) <= 0.1));
      assert.ok(table.slice(0, 12).every((v) => v === 0));
      // Dropout is active in training mode only.
      enc.train();
      const dropped = enc.forward(ids, lengths).sentence;
      assert.notDeepEqual(vals(dropped), vals(sentence));
      assert.throws(() => new DamsmTextEncoder({ vocabSize: 5, hiddenSize: 7 }), /even/);
      assert.throws(() => enc.forward(ids, [1, 2]), /lengths/);
      enc.dispose();
    }),
  );
});

describe('DamsmImageEncoder', () => {
  test(
    'region and global shapes for 64 and 128 px; larger images are average-pooled first',
    scoped(() => {
      manualSeed(2);
      const enc64 = new DamsmImageEncoder({ embeddingDim: 16, width: 4, inputSize: 64 }).eval();
      const enc128 = new DamsmImageEncoder({ embeddingDim: 16, width: 4, inputSize: 128 }).eval();
      const x64 = randn([2, 3, 64, 64]).clamp(-1, 1);
      const x128 = randn([2, 3, 128, 128]).clamp(-1, 1);
      const a = enc64.forward(x64);
      assert.deepEqual(a.regions.shape, [2, 16, 8, 8]);
      assert.deepEqual(a.global.shape, [2, 16]);
      const b = enc64.forward(x128);
      assert.deepEqual(b.regions.shape, [2, 16, 8, 8]);
      const pooled = enc64.forward(F.avgPool2d(x128, 2));
      close(vals(b.regions), vals(pooled.regions), 1e-5, 'pooled regions');
      close(vals(b.global), vals(pooled.global), 1e-5, 'pooled global');
      const c = enc128.forward(x128);
      assert.deepEqual(c.regions.shape, [2, 16, 16, 16]);
      assert.deepEqual(c.global.shape, [2, 16]);
      // Smaller or odd sizes are resized to the input size.
      assert.deepEqual(enc128.forward(x64).regions.shape, [2, 16, 16, 16]);
      assert.deepEqual(enc64.forward(randn([1, 3, 50, 70])).regions.shape, [1, 16, 8, 8]);
      // AttnGAN's projections, initialised U(-0.1, 0.1).
      for (const p of [enc64.regionEmbed.weight, enc64.globalEmbed.weight])
        assert.ok(vals(p).every((v) => Math.abs(v) <= 0.1));
      assert.throws(() => new DamsmImageEncoder({ inputSize: 48 }), /multiple of 32/);
      assert.throws(() => enc64.forward(randn([1, 1, 64, 64])), /\[B, 3, H, W\]/);
      enc64.dispose();
      enc128.dispose();
    }),
  );
});

/** func_attention written out with loops: query [B][D][Q], context [B][D][L] → weighted, attention [B][L][Q]. */
function naiveAttention(query: number[][][], context: number[][][], gamma1: number) {
  const softmax = (xs: number[]) => {
    const m = Math.max(...xs);
    const e = xs.map((x) => Math.exp(x - m));
    const s = e.reduce((a, b) => a + b, 0);
    return e.map((x) => x / s);
  };
  const weighted: number[][][] = [];
  const attention: number[][][] = [];
  query.forEach((qb, b) => {
    const cb = context[b]!;
    const D = qb.length;
    const Q = qb[0]!.length;
    const L = cb[0]!.length;
    const dot = (l: number, q: number) =>
      Array.from({ length: D }, (_, d) => cb[d]![l]! * qb[d]![q]!).reduce((x, y) => x + y);
    // Eq. 8: softmax over queries for each context position.
    const a1 = Array.from({ length: L }, (_, l) => softmax(Array.from({ length: Q }, (_, q) => dot(l, q))));
    // Eq. 9: softmax over context positions for each query, of gamma1 · a1.
    const cols = Array.from({ length: Q }, (_, q) => softmax(Array.from({ length: L }, (_, l) => gamma1 * a1[l]![q]!)));
    attention.push(Array.from({ length: L }, (_, l) => Array.from({ length: Q }, (_, q) => cols[q]![l]!)));
    weighted.push(
      Array.from({ length: D }, (_, d) =>
        Array.from({ length: Q }, (_, q) => cols[q]!.reduce((s, w, l) => s + w * cb[d]![l]!, 0)),
      ),
    );
  });
  return { weighted: weighted.flat(2), attention: attention.flat(2) };
}

describe('wordAttention', () => {
  test(
    'matches func_attention (Eqs. 7–9) written out with loops',
    scoped(() => {
      manualSeed(3);
      const query = randn([2, 3, 4]);
      const context = randn([2, 3, 5]);
      const { weighted, attention } = wordAttention(query, context, 4);
      assert.deepEqual(weighted.shape, [2, 3, 4]);
      assert.deepEqual(attention.shape, [2, 5, 4]);
      const want = naiveAttention(query.toArray() as number[][][], context.toArray() as number[][][], 4);
      close(vals(attention), want.attention, 1e-5, 'attention');
      close(vals(weighted), want.weighted, 1e-5, 'weighted');
    }),
  );

  test(
    'each query’s weights sum to 1 and masked (padded) context words have no effect',
    scoped(() => {
      manualSeed(4);
      const lengths = [6, 3, 1];
      const regions = randn([3, 8, 10]); // query: 10 regions
      const words = randn([3, 8, 6]); // context: 6 word slots
      const mask = paddingMask(lengths, 6);
      const a = wordAttention(regions, words, 5, mask);
      close(vals(a.attention.sum(1)), new Array<number>(30).fill(1), 1e-5, 'sums');
      // Zero weight on padding.
      const w = a.attention.toArray() as number[][][];
      lengths.forEach((n, b) => w[b]!.slice(n).forEach((row) => assert.ok(row.every((v) => v === 0))));
      // Changing the padded words changes nothing.
      const noise = randn([3, 8, 6]).maskedFill(mask.logicalNot().unsqueeze(1), 0);
      const b = wordAttention(regions, words.add(noise.mul(10)), 5, mask);
      close(vals(b.weighted), vals(a.weighted), 1e-6, 'weighted');
      close(vals(b.attention), vals(a.attention), 1e-6, 'attention');
      // Without the mask they do matter.
      const c = wordAttention(regions, words.add(noise.mul(10)), 5);
      assert.ok(vals(c.weighted.sub(a.weighted).abs()).some((v) => v > 1e-3));
      assert.throws(() => wordAttention(regions, words, 5, mask.narrow(1, 0, 5)), /mask/);
    }),
  );

  test(
    'queryMask equals slicing each caption to its length (AttnGAN’s words_loss)',
    scoped(() => {
      manualSeed(5);
      const lengths = [4, 2];
      const words = randn([2, 6, 4]);
      const regions = randn([2, 6, 9]);
      const { weighted, attention } = wordAttention(words, regions, 4, undefined, {
        queryMask: paddingMask(lengths, 4),
      });
      lengths.forEach((n, b) => {
        const alone = wordAttention(words.narrow(0, b, 1).narrow(2, 0, n), regions.narrow(0, b, 1), 4);
        close(vals(weighted.select(0, b).narrow(1, 0, n)), vals(alone.weighted), 1e-5, 'weighted');
        close(vals(attention.select(0, b).narrow(1, 0, n)), vals(alone.attention), 1e-5, 'attention');
        if (n < 4) assert.ok(vals(weighted.select(0, b).narrow(1, n, 4 - n)).every((v) => v === 0));
      });
    }),
  );
});

/** AttnGAN's words_loss, one caption at a time, on top of wordAttention. */
function referenceWordLoss(
  regions: Tensor,
  words: Tensor,
  lengths: number[],
  classIds: (string | number)[],
  g: { gamma1: number; gamma2: number; gamma3: number },
) {
  const [B, D, h, w] = regions.shape as [number, number, number, number];
  const context = regions.reshape(B, D, h * w);
  const columns: Tensor[] = [];
  const maps: Tensor[] = [];
  lengths.forEach((n, i) => {
    const word = words.narrow(0, i, 1).narrow(2, 0, n).repeat(B, 1, 1); // [B, D, n]
    const { weighted, attention } = wordAttention(word, context, g.gamma1);
    maps.push(attention.select(0, i).t().reshape(n, h, w));
    const cos = word
      .mul(weighted)
      .sum(1)
      .div(word.norm(2, 1).mul(weighted.norm(2, 1)).clamp(1e-8)); // [B, n]
    columns.push(cos.mul(g.gamma2).exp().sum(1).log()); // Eq. 10, [B] over images
  });
  let sim = stack(columns, 1).mul(g.gamma3); // [image j, caption i]
  const mask = tensor(classIds.map((a, i) => classIds.map((b, j) => i !== j && a === b)));
  sim = sim.maskedFill(mask, -Infinity);
  const labels = tensor(
    lengths.map((_, i) => i),
    { dtype: 'int64' },
  );
  return {
    imageToText: F.crossEntropy(sim, labels).item(),
    textToImage: F.crossEntropy(sim.t(), labels).item(),
    maps,
  };
}

describe('DAMSM losses', () => {
  test(
    'wordLoss equals the reference’s per-caption loop, with padding and class masking',
    scoped(() => {
      manualSeed(6);
      const lengths = [5, 2, 4, 1, 3];
      const classIds = [7, 3, 7, 1, 3];
      const regions = randn([5, 8, 3, 3]);
      // Padded word slots hold garbage here: wordLoss must ignore it.
      const words = randn([5, 8, 5]);
      const gammas = { gamma1: 4, gamma2: 5, gamma3: 10 };
      const got = wordLoss(regions, words, lengths, classIds, gammas);
      const want = referenceWordLoss(regions, words, lengths, classIds, gammas);
      close([got.imageToText.item(), got.textToImage.item()], [want.imageToText, want.textToImage], 1e-4, 'losses');
      assert.equal(got.attention.length, 5);
      got.attention.forEach((m, i) => {
        assert.deepEqual(m.shape, [lengths[i], 3, 3]);
        close(vals(m), vals(want.maps[i]!), 1e-5, `attention map ${i}`);
      });
      // Without class ids, the masked pairs count as negatives again.
      const unmasked = wordLoss(regions, words, lengths, null, gammas);
      const distinct = referenceWordLoss(regions, words, lengths, [0, 1, 2, 3, 4], gammas);
      close([unmasked.imageToText.item()], [distinct.imageToText], 1e-4, 'no classes');
      assert.throws(() => wordLoss(regions, words, [5, 2, 4, 1, 6], null), /lengths/);
    }),
  );

  test(
    'sentenceLoss: aligned unit features ≈ 0, swapped features large',
    scoped(() => {
      const unit = eye(4); // four orthogonal unit vectors
      const aligned = sentenceLoss(unit, unit, [0, 1, 2, 3], 50);
      assert.ok(aligned.imageToText.item() < 1e-6 && aligned.textToImage.item() < 1e-6);
      // Captions rotated by one: every image's own caption is orthogonal to it, another is parallel.
      const rotated = unit.indexSelect(0, tensor([1, 2, 3, 0], { dtype: 'int64' }));
      const swapped = sentenceLoss(unit, rotated, [0, 1, 2, 3], 50);
      assert.ok(swapped.imageToText.item() > 49 && swapped.textToImage.item() > 49);
      // Scale does not matter (cosine), gamma3 sets the temperature.
      const scaled = sentenceLoss(unit.mul(3), rotated.mul(0.2), [0, 1, 2, 3], 50);
      close([scaled.imageToText.item()], [swapped.imageToText.item()], 1e-5);
      assert.ok(sentenceLoss(unit, rotated, [0, 1, 2, 3]).imageToText.item() < 11);
    }),
  );

  test(
    'same-class masking: a same-class caption is not a negative',
    scoped(() => {
      const unit = eye(4);
      // Images 0 and 1 have each other's captions; 2 and 3 are aligned.
      const crossed = unit.indexSelect(0, tensor([1, 0, 2, 3], { dtype: 'int64' }));
      const loss = (ids: ClassIds) => {
        const l = sentenceLoss(unit, crossed, ids, 10);
        return l.imageToText.item() + l.textToImage.item();
      };
      const distinct = loss(['a', 'b', 'c', 'd']);
      const sameClass = loss(['a', 'a', 'c', 'd']);
      assert.ok(sameClass < distinct - 5, `same class ${sameClass} vs distinct ${distinct}`);
      // Rows 0 and 1: the parallel caption is masked, three orthogonal ones remain: log 3 each.
      const expected = (2 * Math.log(3) + 2 * Math.log(1 + 3 * Math.exp(-10))) / 4;
      close([sameClass / 2], [expected], 1e-5, 'masked loss');
      assert.equal(loss(null), distinct);
      assert.throws(() => loss(['a', 'b']), /class ids/);
    }),
  );

  test(
    'one backward of damsmLoss reaches every parameter of both encoders',
    scoped(() => {
      manualSeed(7);
      const text = new DamsmTextEncoder({ vocabSize: 15, embeddingDim: 8, hiddenSize: 16 });
      const image = new DamsmImageEncoder({ embeddingDim: 16, width: 4, inputSize: 32 });
      const lengths = [4, 2, 3, 4];
      const ids = paddedIds(lengths, 4, 15, new Prng(2));
      const out = damsmLoss(image.forward(randn([4, 3, 32, 32])), text.forward(ids, lengths), lengths, [0, 1, 0, 2]);
      const parts = [out.word.imageToText, out.word.textToImage, out.sentence.imageToText, out.sentence.textToImage];
      close([out.loss.item()], [parts.reduce((s, p) => s + p.item(), 0)], 1e-5, 'sum of the four terms');
      out.loss.backward();
      for (const [name, p] of [...text.namedParameters('text.'), ...image.namedParameters('image.')] as [
        string,
        Tensor,
      ][]) {
        const g = p.grad;
        assert.ok(g !== null, `${name} has no gradient`);
        const gv = vals(g);
        assert.ok(gv.every(Number.isFinite), `${name} has a non-finite gradient`);
        // The <pad> embedding row is the only part that must stay without gradient.
        const live = name === 'text.embed.weight' ? gv.slice(8) : gv;
        assert.ok(
          live.some((v) => v !== 0),
          `${name} has an all-zero gradient`,
        );
      }
      text.dispose();
      image.dispose();
    }),
  );
});

// ---- a small training run ----------------------------------------------------------------------
const COLOURS: Record<string, [number, number, number]> = {
  red: [1, -1, -1],
  green: [-1, 1, -1],
  blue: [-1, -1, 1],
  yellow: [1, 1, -1],
  white: [1, 1, 1],
  purple: [0.2, -1, 0.6],
};
const NAMES = Object.keys(COLOURS);
const templates = (c: string) => [`a ${c} square`, `the square is ${c}`, c, `a picture of a ${c} square`];

/** Solid-colour 32 px images with noise and captions that name the colour. */
function colourPairs(colours: string[], rng: Prng): { images: Tensor; captions: string[] } {
  const captions = colours.map((c) => {
    const t = templates(c);
    return t[rng.int(t.length)]!;
  });
  const images = tidy(() =>
    tensor(colours.map((c) => COLOURS[c]!))
      .view(colours.length, 3, 1, 1)
      .mul(0.7)
      .add(randn([colours.length, 3, 32, 32]).mul(0.3))
      .clamp(-1, 1),
  );
  return { images, captions };
}

test(
  'training on colour captions lowers the loss and retrieves the right caption',
  scoped(() => {
    manualSeed(11);
    const rng = new Prng(11);
    const vocab = Vocabulary.build(NAMES.flatMap(templates));
    const colours = Array.from({ length: 64 }, () => NAMES[rng.int(NAMES.length)]!);
    const data = colourPairs(colours, rng);
    const encoded = vocab.encodeBatch(data.captions);
    const lengths = Array.from(encoded.lengths.toTypedArray() as BigInt64Array, Number);
    const text = new DamsmTextEncoder({ vocabSize: vocab.size, embeddingDim: 32, hiddenSize: 32 });
    const image = new DamsmImageEncoder({ embeddingDim: 32, width: 8, inputSize: 32 });
    const opt = new Adam([...text.parameters(), ...image.parameters()], { lr: 2e-3, betas: [0.5, 0.999] });

    // Image→text top-1 retrieval over fresh batches holding one image of each colour (chance 1/6).
    const retrieval = (rounds: number): number => {
      text.eval();
      image.eval();
      let hits = 0;
      for (let r = 0; r < rounds; r++)
        tidy(() => {
          const { images, captions } = colourPairs(NAMES, rng);
          const e = vocab.encodeBatch(captions);
          const g = image.forward(images).global;
          const s = text.forward(e.ids, e.lengths).sentence;
          const cos = g.div(g.norm(2, 1, true)).matmul(s.div(s.norm(2, 1, true)).t());
          hits += Array.from(cos.argmax(1).toTypedArray() as BigInt64Array, Number).filter((p, i) => p === i).length;
        });
      text.train();
      image.train();
      return hits / (rounds * NAMES.length);
    };
    const before = retrieval(10);

    const losses: number[] = [];
    for (let step = 0; step < 100; step++)
      tidy(() => {
        const batch = Array.from(rng.permutation(64).subarray(0, 16));
        const idx = tensor(batch, { dtype: 'int64' });
        const lens = batch.map((i) => lengths[i]!);
        const ids = encoded.ids.indexSelect(0, idx).narrow(1, 0, Math.max(...lens));
        const { loss } = damsmLoss(
          image.forward(data.images.indexSelect(0, idx)),
          text.forward(ids, lens),
          lens,
          batch.map((i) => colours[i]!),
        );
        opt.backwardStep(loss);
        losses.push(loss.item());
      });
    const mean = (a: number[]) => a.reduce((s, v) => s + v, 0) / a.length;
    const first = mean(losses.slice(0, 5));
    const last = mean(losses.slice(-10));
    assert.ok(last < 0.1 * first, `loss fell from ${first.toFixed(2)} to ${last.toFixed(2)} only`);
    const after = retrieval(20);
    assert.ok(after >= 0.75, `top-1 retrieval ${after.toFixed(2)} (before training ${before.toFixed(2)})`);

    opt.dispose();
    text.dispose();
    image.dispose();
    for (const t of [data.images, encoded.ids, encoded.lengths]) t.dispose();
  }),
);

test('a forward and backward inside tidy() leaves no tensor behind', () => {
  manualSeed(12);
  const text = new DamsmTextEncoder({ vocabSize: 12, embeddingDim: 8, hiddenSize: 8 });
  const image = new DamsmImageEncoder({ embeddingDim: 8, width: 4, inputSize: 32 });
  const opt = new Adam([...text.parameters(), ...image.parameters()]);
  const lengths = [3, 1, 2];
  const step = () =>
    tidy(() => {
      const ids = paddedIds(lengths, 3, 12, new Prng(3));
      const out = damsmLoss(image.forward(randn([3, 3, 64, 64])), text.forward(ids, lengths), lengths, [1, 1, 2]);
      opt.backwardStep(out.loss);
    });
  step(); // creates the optimizer state
  const before = liveTensors();
  step();
  assert.equal(liveTensors(), before);
  opt.dispose();
  text.dispose();
  image.dispose();
});

test('no tensor handles leak from this file', () => {
  assert.equal(liveTensors(), START);
});
