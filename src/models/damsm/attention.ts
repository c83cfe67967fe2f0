// Word-region attention of the DAMSM (AttnGAN, Xu et al. 2018, Sec. 3.3, Eqs. 7–9; the reference's
// func_attention): every query vector gets a convex combination of the context vectors.
import { tidy, type Tensor } from '../../engine/index.js';

export interface WordAttention {
  /** Attended context per query position [B, D, Q]. */
  weighted: Tensor;
  /** Eq. 9 weights [B, L, Q]: for each query position a distribution over the L context positions. */
  attention: Tensor;
}

export interface WordAttentionOptions {
  /** bool [B, Q], true = padding: query positions left out of Eq. 8; their outputs are zero. */
  queryMask?: Tensor;
}

function checkMask(mask: Tensor, batch: number, len: number, what: string): void {
  if (mask.dtype !== 'bool' || mask.rank !== 2 || mask.size(0) !== batch || mask.size(1) !== len)
    throw new TypeError(`wordAttention: ${what} must be bool [${batch}, ${len}], got ${mask.toString()}`);
}

/**
 * AttnGAN's func_attention, with the DAMSM's words as query and image regions as context:
 * s = contextᵀ·query (Eq. 7); softmax over the query positions for each context position (Eq. 8);
 * × gamma1 and softmax over the context positions for each query position (Eq. 9); weighted =
 * context · attention. The reference returns the attention as [B, Q, h, w]; here it is [B, L, Q].
 *
 * `mask` (bool [B, L], true = padding) drops context positions from Eq. 9, so each query attends
 * only to real ones: with words as context, padded words have no effect at all (Eq. 8 normalises
 * each context position on its own). Every row needs at least one unmasked position.
 * With words as query, AttnGAN slices each caption to its length instead; `queryMask` does the same
 * for a padded batch.
 *
 * AttnGAN's generator attention (GlobalAttentionGeneral) is a different, single masked softmax over
 * the context (its Eq. 2), without Eq. 8 and gamma1.
 *
 * @param query [B, D, Q] (words in the DAMSM)
 * @param context [B, D, L] (image regions, flattened h·w, in the DAMSM)
 */
export function wordAttention(
  query: Tensor,
  context: Tensor,
  gamma1: number,
  mask?: Tensor,
  opts: WordAttentionOptions = {},
): WordAttention {
  if (query.rank !== 3 || context.rank !== 3 || query.size(0) !== context.size(0) || query.size(1) !== context.size(1))
    throw new TypeError(
      `wordAttention expects query [B, D, Q] and context [B, D, L], got [${query.shape.join(', ')}] and [${context.shape.join(', ')}]`,
    );
  const [batch, , queryLen] = query.shape as [number, number, number];
  const contextLen = context.size(2);
  if (mask) checkMask(mask, batch, contextLen, 'mask');
  if (opts.queryMask) checkMask(opts.queryMask, batch, queryLen, 'queryMask');
  return tidy(() => {
    let scores = context.transpose(1, 2).bmm(query); // Eq. 7: [B, L, Q]
    const qmask = opts.queryMask?.unsqueeze(1); // [B, 1, Q]
    if (qmask) scores = scores.maskedFill(qmask, -Infinity);
    let logits = scores.softmax(2).mul(gamma1); // Eq. 8, then Eq. 9's sharpening
    if (mask) logits = logits.maskedFill(mask.unsqueeze(2), -Infinity);
    let attention = logits.softmax(1); // Eq. 9
    // A masked query's Eq. 9 row is uniform (its Eq. 8 column was all zero): zero it instead.
    if (qmask) attention = attention.maskedFill(qmask, 0);
    const weighted = context.bmm(attention);
    return { weighted, attention };
  });
}
