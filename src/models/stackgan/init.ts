// The initialisation of the official StackGAN code (DCGAN's): convolution and linear weights
// N(0, 0.02) with zero biases, batch-norm scales N(1, 0.02) with zero shifts. By layer type, so it
// reaches layers inside Sequential and ConditioningAugmentation as well.
import { BatchNorm1d, BatchNorm2d, Conv2d, Linear, init, type Module } from '../../nn/index.js';

export function stackganInit(m: Module): void {
  if (m instanceof Conv2d || m instanceof Linear) {
    init.normal_(m.weight, 0, 0.02);
    if (m.bias) init.zeros_(m.bias);
  } else if (m instanceof BatchNorm1d || m instanceof BatchNorm2d) {
    if (m.weight) init.normal_(m.weight, 1, 0.02);
    if (m.bias) init.zeros_(m.bias);
  }
  for (const [, child] of m.children()) stackganInit(child);
}
