// The projection-discriminator tag GAN (Miyato & Koyama 2018): G with class-conditional batch norm
// per attribute, D with one projection term per attribute.
export { ConditionalBatchNorm2d } from './conditional-batch-norm.js';
export { TagGenerator, labelsOf, type TagGeneratorOptions } from './generator.js';
export { ProjectionDiscriminator, type ProjectionDiscriminatorOptions } from './discriminator.js';
