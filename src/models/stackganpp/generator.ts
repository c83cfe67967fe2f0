// The StackGAN++ generator (Zhang et al., TPAMI 2018, §4.1, Fig. 3): conditioning augmentation
// gives ĉ from the sentence embedding; F₀ turns [z; ĉ] into 64×64 features, and each refinement
// stage F_i reads the previous features with ĉ again and doubles the side. Every stage has its own
// image head G_i, so the one network draws the same bird at 64, 128 and 256 px, trained jointly
// against one discriminator per scale.
import type { Generator, Tensor } from '../../engine/index.js';
import { Module } from '../../nn/index.js';
import { ConditioningAugmentation } from '../layers/conditioning-augmentation.js';
import { ImageHead } from './blocks.js';
import { InitialStage } from './initial-stage.js';
import { orthogonalInit } from './init.js';
import { RefinementStage } from './refinement-stage.js';
import {
  conditionMean,
  stageDepth,
  stageSides,
  type TextFeatures,
  type TreeGenerator,
  type TreeGeneratorOptions,
  type TreeOutput,
} from './tree.js';

export class StackGanPlusPlusGenerator extends Module implements TreeGenerator {
  readonly ca: ConditioningAugmentation;
  readonly initial: InitialStage;
  readonly refinements: RefinementStage[] = [];
  readonly heads: ImageHead[] = [];
  readonly stages: number[];
  readonly readsWords = false;

  constructor(readonly o: TreeGeneratorOptions) {
    super();
    this.stages = stageSides(o);
    const halvings = o.branches - 1;
    if (!Number.isInteger(o.width / 2 ** halvings) || o.width / 2 ** halvings < 1)
      throw new RangeError(`width ${o.width} cannot be halved by ${halvings} refinement stages`);
    this.ca = this.module('ca', new ConditioningAugmentation(o.embeddingDim, o.conditionDim, 'glu'));
    // F₀ makes width channels at the first side from 16·width at 4×4 (the official GF_DIM·16).
    this.initial = this.module(
      'stage0',
      new InitialStage(o.noiseDim + o.conditionDim, o.width, Math.log2(this.stages[0]! / 4)),
    );
    let c = o.width;
    this.heads.push(this.module('image0', new ImageHead(c)));
    for (let i = 1; i < o.branches; i++) {
      this.refinements.push(this.module(`stage${i}`, new RefinementStage(c, o.conditionDim, o.residualBlocks)));
      c /= 2;
      this.heads.push(this.module(`image${i}`, new ImageHead(c)));
    }
    orthogonalInit(this);
  }

  forward(z: Tensor, text: TextFeatures, generator?: Generator, depth?: number): TreeOutput {
    const refinements = stageDepth(this.stages, depth) - 1;
    const { condition, mu, logvar } = this.ca.forward(text.sentence, generator);
    using c = condition;
    const stages: Tensor[] = [];
    let h = this.initial.forward(z, c);
    try {
      stages.push(this.heads[0]!.forward(h));
      for (let i = 0; i < refinements; i++) {
        const next = this.refinements[i]!.forward(h, c);
        h.dispose();
        h = next;
        stages.push(this.heads[i + 1]!.forward(h));
      }
    } catch (e) {
      stages.forEach((t) => t.dispose());
      mu.dispose();
      logvar.dispose();
      throw e;
    } finally {
      h.dispose();
    }
    return { stages, mu, logvar };
  }

  conditionMean(sentence: Tensor): Tensor {
    return conditionMean(this.ca, sentence);
  }
}
