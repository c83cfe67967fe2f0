// The initialisation of the official StackGAN++ and AttnGAN code: orthogonal convolution and linear
// weights (gain 1) with zero biases; batch-norm scales N(1, 0.02) with zero shifts.
import { BatchNorm1d, BatchNorm2d, Conv1d, Conv2d, Linear, init, type Module } from '../../nn/index.js';

export function orthogonalInit(m: Module): void {
  if (m instanceof Conv1d || m instanceof Conv2d || m instanceof Linear) {
    init.orthogonal_(m.weight, 1);
    if (m.bias) init.zeros_(m.bias);
  } else if (m instanceof BatchNorm1d || m instanceof BatchNorm2d) {
    if (m.weight) init.normal_(m.weight, 1, 0.02);
    if (m.bias) init.zeros_(m.bias);
  }
  for (const [, child] of m.children()) orthogonalInit(child);
}
