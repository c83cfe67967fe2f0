// The normalisation a config asks for, by name. WGAN-GP critics must not use batch norm (the
// gradient penalty is per sample), so they take layer norm or none.
import { BatchNorm2d, GroupNorm, InstanceNorm2d, Module, type Layer } from '../../nn/index.js';
import { Identity } from '../../nn/index.js';

export const NORMS = ['batch', 'layer', 'instance', 'none'] as const;
export type NormKind = (typeof NORMS)[number];

export function norm2d(kind: NormKind, channels: number): Module & Layer {
  switch (kind) {
    case 'batch':
      return new BatchNorm2d(channels);
    case 'layer':
      // GroupNorm with one group normalises over (C, H, W) per sample: layer norm for feature maps.
      return new GroupNorm(1, channels);
    case 'instance':
      return new InstanceNorm2d(channels, { affine: true });
    case 'none':
      return new Identity();
  }
}
