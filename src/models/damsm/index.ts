// DAMSM: AttnGAN's Deep Attentional Multimodal Similarity Model (Xu et al. 2018): text and image
// encoders into one feature space, word-region attention, and the matching losses.
export { DamsmTextEncoder, type DamsmTextEncoderOptions, type DamsmTextFeatures } from './text-encoder.js';
export { DamsmImageEncoder, type DamsmImageEncoderOptions, type DamsmImageFeatures } from './image-encoder.js';
export { wordAttention, type WordAttention, type WordAttentionOptions } from './attention.js';
export {
  sentenceLoss,
  wordLoss,
  damsmLoss,
  type ClassIds,
  type DamsmGammas,
  type MatchingLoss,
  type WordLoss,
  type DamsmLoss,
} from './losses.js';
