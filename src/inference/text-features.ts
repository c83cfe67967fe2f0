// Captions as a generator reads them, and as manifold interpolation moves between them: the
// sentence embedding, plus, for AttnGAN, the word features and their padding mask.
import { F, cat, type Device, type Tensor } from '../engine/index.js';
import type { AnyGenerator } from '../artifacts/generators.js';
import { DamsmConditioner, type Conditioner } from '../models/conditioning.js';
import type { TextFeatures } from '../models/stackganpp/index.js';

/** The text as G reads it: the sentence, and the words when G attends to them (AttnGAN). */
export function encodeText(
  G: AnyGenerator,
  conditioner: Conditioner,
  captions: readonly string[],
  device: Device,
): TextFeatures & { lengths?: number[] } {
  if (!('readsWords' in G) || !G.readsWords) return { sentence: conditioner.encode({ captions }, device) };
  if (!(conditioner instanceof DamsmConditioner))
    throw new Error('AttnGAN reads word features: it needs a DAMSM text encoder');
  return conditioner.encodeText(captions, device);
}

export function disposeText(t: TextFeatures): void {
  t.sentence.dispose();
  t.words?.dispose();
  t.mask?.dispose();
}

/** `steps` rows from a to b (one caption each): (1 − t)·a + t·b for t = 0, 1/(steps − 1), …, 1. */
function lerpRows(a: Tensor, b: Tensor, steps: number): Tensor {
  const rows: Tensor[] = [];
  for (let i = 0; i < steps; i++) {
    const t = i / (steps - 1);
    using wa = a.mul(1 - t);
    rows.push(wa.add(b, t));
  }
  const out = cat(rows, 0);
  rows.forEach((r) => r.dispose());
  return out;
}

/**
 * Manifold interpolation of the text. The sentence embeddings move linearly; for AttnGAN the word
 * features do too, position by position, the shorter caption padded with zero features (which is
 * what its padded positions hold), and a position counts as a word while either caption has one.
 */
export function interpolateText(a: TextFeatures, b: TextFeatures, steps: number): TextFeatures {
  const sentence = lerpRows(a.sentence, b.sentence, steps);
  if (a.words === undefined || b.words === undefined || a.mask === undefined || b.mask === undefined)
    return { sentence };
  const len = Math.max(a.words.size(2), b.words.size(2));
  const padWords = (w: Tensor): Tensor => F.pad(w, [0, len - w.size(2)]);
  using wa = padWords(a.words);
  using wb = padWords(b.words);
  // Padding in both: summed as numbers (bool padding is not portable), 2 = padded twice.
  using fa = a.mask.to('float32');
  using fb = b.mask.to('float32');
  using ma = F.pad(fa, [0, len - fa.size(1)], 'constant', 1);
  using mb = F.pad(fb, [0, len - fb.size(1)], 'constant', 1);
  using sum = ma.add(mb);
  using both = sum.gt(1.5);
  const words = lerpRows(wa, wb, steps);
  using wide = both.expand(steps, len);
  const mask = wide.contiguous();
  return { sentence, words, mask };
}
