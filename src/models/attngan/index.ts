// AttnGAN (Xu et al., CVPR 2018): the attentional generator; its text and image encoders and the
// DAMSM losses are in models/damsm, its discriminators are StackGAN++'s.
export { WordContextAttention, type WordContext } from './attention.js';
export { AttentionalRefinementStage } from './attentional-stage.js';
export { AttnGanGenerator, type AttnGanGeneratorOptions } from './generator.js';
