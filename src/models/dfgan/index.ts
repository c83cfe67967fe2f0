// DF-GAN (Tao et al., CVPR 2022): a one-stage text-to-image GAN with deep text-image fusion.
export { Affine, DFBlock } from './affine.js';
export { DfGenerator, discriminatorChannels, generatorChannels, type DfGeneratorOptions } from './generator.js';
export { DfConditionalHead, DfDiscriminator, DfImageEncoder, type DfDiscriminatorOptions } from './discriminator.js';
export { growDiscriminator, growGenerator, type DfSource } from './grow.js';
