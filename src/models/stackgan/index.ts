// StackGAN (Zhang et al. 2017): Stage-I and Stage-II generators, their discriminators, and the two
// stages stacked for sampling.
export * from './blocks.js';
export { stackganInit } from './init.js';
export { Stage1Generator, type Stage1GeneratorOptions } from './stage1-generator.js';
export { Stage2Generator, type Stage2GeneratorOptions } from './stage2-generator.js';
export { StackGanDiscriminator, type StackGanDiscriminatorOptions } from './discriminator.js';
export { StackedGenerator, type Stage1Source, type StackedOutput } from './stacked-generator.js';
export { lowResolutionConsistency } from './low-resolution-consistency.js';
