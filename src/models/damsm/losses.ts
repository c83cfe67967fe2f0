// DAMSM matching losses (AttnGAN, Xu et al. 2018, Sec. 3.3, Eqs. 10–13; the reference's sent_loss
// and words_loss): image-text retrieval as classification within a batch, both ways, on the
// sentence/global features and on the word/region features.
import { F, Tensor, arange, tensor, tidy } from '../../engine/index.js';
import type { DamsmImageFeatures } from './image-encoder.js';
import type { DamsmTextFeatures } from './text-encoder.js';

/** Class of each sample; null: no class masking. */
export type ClassIds = readonly (string | number)[] | null;

export interface DamsmGammas {
  /** Sharpness of attention over regions, Eq. 9 (default 4; AttnGAN's birds config uses 4). */
  gamma1?: number;
  /** How much the best-matching words dominate the image-text score, Eq. 10 (default 5). */
  gamma2?: number;
  /** Temperature of the batch-retrieval softmax, Eq. 11 (default 10). */
  gamma3?: number;
}

export interface MatchingLoss {
  /** Cross-entropy of finding each image's caption among the batch's captions (−log P(D_i|Q_i)). */
  imageToText: Tensor;
  /** Cross-entropy of finding each caption's image among the batch's images (−log P(Q_i|D_i)). */
  textToImage: Tensor;
}

export interface WordLoss extends MatchingLoss {
  /** Per caption i, its Eq. 9 attention on its own image [len_i, h, w] (detached: for display). */
  attention: Tensor[];
}

export interface DamsmLoss {
  /** Sum of the four terms (AttnGAN's pretrain_DAMSM objective). */
  loss: Tensor;
  word: MatchingLoss;
  sentence: MatchingLoss;
  attention: Tensor[];
}

const EPS = 1e-8;

/**
 * bool [B, B]: true where samples i ≠ j share a class. AttnGAN does not count such captions as
 * mismatches (a bird's caption also describes other birds of its species), so their scores are -∞.
 */
function sameClassMask(classIds: ClassIds, batch: number, like: Tensor): Tensor | null {
  if (classIds === null) return null;
  if (classIds.length !== batch) throw new RangeError(`expected ${batch} class ids, got ${classIds.length}`);
  let any = false;
  const rows = classIds.map((a, i) =>
    classIds.map((b, j) => {
      const same = i !== j && a === b;
      any ||= same;
      return same;
    }),
  );
  return any ? tensor(rows, { device: like.device }) : null;
}

/** Both retrieval cross-entropies of a score matrix [images, captions]; the diagonal is the match. */
function retrieval(scores: Tensor, mask: Tensor | null): MatchingLoss {
  const masked = mask ? scores.maskedFill(mask, -Infinity) : scores;
  const labels = arange(scores.size(0), undefined, 1, { device: scores.device });
  return {
    imageToText: F.crossEntropy(masked, labels),
    textToImage: F.crossEntropy(masked.t(), labels),
  };
}

function lengthList(lengths: Tensor | readonly number[]): number[] {
  return lengths instanceof Tensor
    ? Array.from(lengths.toTypedArray() as ArrayLike<number | bigint>, Number)
    : [...lengths];
}

/**
 * Sentence-level DAMSM loss (Eq. 13): cosine similarity of every image's global feature with every
 * caption's sentence feature, × gamma3, cross-entropy towards the matching pair both ways.
 * @param imageGlobal [B, D]
 * @param sentence [B, D]
 */
export function sentenceLoss(imageGlobal: Tensor, sentence: Tensor, classIds: ClassIds, gamma3 = 10): MatchingLoss {
  if (imageGlobal.rank !== 2 || sentence.rank !== 2 || imageGlobal.shape.join() !== sentence.shape.join())
    throw new TypeError(
      `sentenceLoss expects two [B, D] features, got [${imageGlobal.shape.join(', ')}] and [${sentence.shape.join(', ')}]`,
    );
  return tidy(() => {
    const dots = imageGlobal.matmul(sentence.t());
    const norms = imageGlobal.norm(2, 1, true).mul(sentence.norm(2, 1, true).t());
    const scores = dots.div(norms.clamp(EPS)).mul(gamma3);
    return retrieval(scores, sameClassMask(classIds, imageGlobal.size(0), imageGlobal));
  });
}

/**
 * Word-level DAMSM loss (Eqs. 7–12). For every caption i and image j: each word of i attends over
 * j's regions (wordAttention's Eqs. 7–9), the word–context cosine similarities are pooled by
 * R(Q_j, D_i) = log Σ_t exp(gamma2 · cos) over i's words (Eq. 10), and gamma3 · R feeds the
 * retrieval cross-entropies. The reference loops over captions; here all B² pairs are computed in
 * one go, padded words masked out of Eq. 8 and Eq. 10, which gives the same numbers.
 * @param regions [B, D, h, w] image region features
 * @param words [B, D, L] word features (padding past each length)
 * @param lengths each caption's length (1 ≤ length ≤ L)
 */
export function wordLoss(
  regions: Tensor,
  words: Tensor,
  lengths: Tensor | readonly number[],
  classIds: ClassIds,
  gammas: DamsmGammas = {},
): WordLoss {
  const { gamma1 = 4, gamma2 = 5, gamma3 = 10 } = gammas;
  if (regions.rank !== 4 || words.rank !== 3 || regions.size(0) !== words.size(0) || regions.size(1) !== words.size(1))
    throw new TypeError(
      `wordLoss expects regions [B, D, h, w] and words [B, D, L], got [${regions.shape.join(', ')}] and [${words.shape.join(', ')}]`,
    );
  const [batch, dim, h, w] = regions.shape as [number, number, number, number];
  const regionCount = h * w;
  const len = words.size(2);
  const lens = lengthList(lengths);
  if (lens.length !== batch || lens.some((n) => !Number.isInteger(n) || n < 1 || n > len))
    throw new RangeError(`wordLoss expects ${batch} lengths in [1, ${len}], got [${lens.join(', ')}]`);
  return tidy(() => {
    const padding = tensor(
      lens.map((n) => Array.from({ length: len }, (_, t) => t >= n)),
      { device: words.device },
    ); // [B, L], true past each caption
    const context = regions.reshape(batch, dim, regionCount);
    const wordsDim = words.permute(1, 0, 2).reshape(dim, batch * len); // [D, B·L]: column (i, t)
    // Eq. 7 for all pairs in one matmul: s[j, n, i, t] = v_{j,n} · e_{i,t}.
    const scores = context
      .transpose(1, 2)
      .reshape(batch * regionCount, dim)
      .matmul(wordsDim)
      .view(batch, regionCount, batch, len);
    // Eq. 8: softmax over caption i's own words; Eq. 9: × gamma1, softmax over j's regions.
    const perRegion = scores.maskedFill(padding.view(1, 1, batch, len), -Infinity).softmax(3);
    const attention = perRegion.mul(gamma1).softmax(1); // [B_j, N, B_i, L]
    // Region context c[j, :, i, t] = Σ_n v[j, :, n] · attention[j, n, i, t].
    const ctx = context.bmm(attention.reshape(batch, regionCount, batch * len)).view(batch, dim, batch, len);
    const e = wordsDim.view(1, dim, batch, len);
    const cos = ctx
      .mul(e)
      .sum(1)
      .div(ctx.norm(2, 1).mul(e.norm(2, 1)).clamp(EPS)); // [B_j, B_i, L]
    // Eq. 10 over the real words only.
    const similarity = cos.mul(gamma2).maskedFill(padding.unsqueeze(0), -Infinity).logsumexp(2); // [B_j, B_i]
    const loss = retrieval(similarity.mul(gamma3), sameClassMask(classIds, batch, words));
    // Copied out, so that the maps do not keep the whole [B, N, B, L] attention alive.
    const maps = lens.map((n, i) =>
      attention.select(2, i).select(0, i).narrow(1, 0, n).t().reshape(n, h, w).detach().clone(),
    );
    return { ...loss, attention: maps };
  });
}

/**
 * The DAMSM objective: word-level and sentence-level losses, both directions each, summed.
 * @param lengths each caption's length, as given to the text encoder
 */
export function damsmLoss(
  image: DamsmImageFeatures,
  text: DamsmTextFeatures,
  lengths: Tensor | readonly number[],
  classIds: ClassIds,
  gammas: DamsmGammas = {},
): DamsmLoss {
  return tidy(() => {
    const { attention, ...word } = wordLoss(image.regions, text.words, lengths, classIds, gammas);
    const sentence = sentenceLoss(image.global, text.sentence, classIds, gammas.gamma3);
    const loss = word.imageToText.add(word.textToImage).add(sentence.imageToText).add(sentence.textToImage);
    return { loss, word, sentence, attention };
  });
}
