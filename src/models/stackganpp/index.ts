// StackGAN++ (Zhang et al., TPAMI 2018): the tree generator, its blocks and the colour-consistency
// term; the blocks and the tree interface are AttnGAN's too. The discriminators are StackGAN's
// (models/stackgan) without the text projection.
export * from './blocks.js';
export * from './tree.js';
export { orthogonalInit } from './init.js';
export { InitialStage } from './initial-stage.js';
export { RefinementStage } from './refinement-stage.js';
export { StackGanPlusPlusGenerator } from './generator.js';
export { colorConsistency, colorConsistencyWeights, colorStatistics } from './color-consistency.js';
