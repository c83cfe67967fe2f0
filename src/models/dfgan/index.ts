// DF-GAN (Tao et al., CVPR 2022): a one-stage text-to-image GAN with deep text-image fusion.
export { Affine, DFBlock } from './affine.js';
export { DfGenerator, generatorChannels, type DfGeneratorOptions } from './generator.js';
export {
  DfConditionalHead,
  DfDiscriminator,
  DfImageEncoder,
  discriminatorChannels,
  type DfDiscriminatorOptions,
} from './discriminator.js';
