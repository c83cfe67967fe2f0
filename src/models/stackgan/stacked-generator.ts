// The two StackGAN stages as one text-to-image generator: a frozen Stage-I network sketches the
// low-resolution image from noise and text, and Stage II refines it. Stage I may be StackGAN's own
// G₀ or any conditional generator with the same interface (a GAN-INT-CLS or WGAN-CLS generator:
// "WGAN-CLS + Stage II"). Sampling returns both stages, smallest first.
import { noGrad, type Generator, type Tensor } from '../../engine/index.js';
import type { Module } from '../../nn/index.js';
import type { GeneratorOutput } from '../dcgan/conditional-generator.js';
import type { Stage2Generator } from './stage2-generator.js';

/** What Stage II needs from the network before it: noise width, image side, images from (z, φ_t). */
export interface Stage1Source extends Module {
  readonly o: { noiseDim: number; resolution: number };
  forward(z: Tensor, embedding: Tensor, generator?: Generator): GeneratorOutput;
}

export interface StackedOutput {
  /** [Stage-I images, Stage-II images]. */
  stages: [Tensor, Tensor];
  /** Stage II's conditioning Gaussian (its KL term). */
  mu: Tensor;
  logvar: Tensor;
}

export class StackedGenerator {
  constructor(
    readonly stage1: Stage1Source,
    readonly stage2: Stage2Generator,
  ) {
    if (stage2.o.inputResolution !== stage1.o.resolution)
      throw new RangeError(
        `Stage II refines ${stage2.o.inputResolution}×${stage2.o.inputResolution} images, Stage I makes ${stage1.o.resolution}×${stage1.o.resolution}`,
      );
  }

  get noiseDim(): number {
    return this.stage1.o.noiseDim;
  }

  /** Image sides, smallest first. */
  get stages(): number[] {
    return [this.stage1.o.resolution, this.stage2.o.resolution];
  }

  /**
   * Both stages for noise z and text embeddings. Stage I runs without gradient (it is frozen: its
   * image is an input of Stage II, as `detach()` makes it in the official code), in whatever mode
   * its owner left it; `generator` draws Stage II's conditioning noise in training.
   */
  forward(z: Tensor, embedding: Tensor, generator?: Generator): StackedOutput {
    const lowRes = noGrad(() => {
      const o = this.stage1.forward(z, embedding);
      o.mu?.dispose();
      o.logvar?.dispose();
      return o.images;
    });
    try {
      const o = this.stage2.forward(lowRes, embedding, generator);
      return { stages: [lowRes, o.images], mu: o.mu!, logvar: o.logvar! };
    } catch (e) {
      lowRes.dispose();
      throw e;
    }
  }

  dispose(): void {
    this.stage1.dispose();
    this.stage2.dispose();
  }
}
