// The AttnGAN generator (Xu et al., CVPR 2018, §3.1, Fig. 2): StackGAN++'s tree, whose refinement
// stages read the words through attention. ĉ comes from the sentence embedding by conditioning
// augmentation; F₀ draws 64×64 features from [z; ĉ]; before the second and third stages each
// sub-region gathers a word-context vector from the DAMSM word features. Every stage has its own
// image head; the attention maps come back with the images, one per word and attentional stage.
import type { Generator, Tensor } from '../../engine/index.js';
import { Module } from '../../nn/index.js';
import { ConditioningAugmentation } from '../layers/conditioning-augmentation.js';
import {
  ImageHead,
  InitialStage,
  conditionMean,
  orthogonalInit,
  stageDepth,
  stageSides,
  type TextFeatures,
  type TreeGenerator,
  type TreeGeneratorOptions,
  type TreeOutput,
} from '../stackganpp/index.js';
import { AttentionalRefinementStage } from './attentional-stage.js';

export interface AttnGanGeneratorOptions extends TreeGeneratorOptions {
  /** Width D of the word features (the DAMSM's). */
  wordDim: number;
}

export class AttnGanGenerator extends Module implements TreeGenerator {
  readonly ca: ConditioningAugmentation;
  readonly initial: InitialStage;
  readonly refinements: AttentionalRefinementStage[] = [];
  readonly heads: ImageHead[] = [];
  readonly stages: number[];
  readonly readsWords = true;

  constructor(readonly o: AttnGanGeneratorOptions) {
    super();
    this.stages = stageSides(o);
    this.ca = this.module('ca', new ConditioningAugmentation(o.embeddingDim, o.conditionDim, 'glu'));
    this.initial = this.module(
      'stage0',
      new InitialStage(o.noiseDim + o.conditionDim, o.width, Math.log2(this.stages[0]! / 4)),
    );
    this.heads.push(this.module('image0', new ImageHead(o.width)));
    for (let i = 1; i < o.branches; i++) {
      this.refinements.push(
        this.module(`stage${i}`, new AttentionalRefinementStage(o.width, o.wordDim, o.residualBlocks)),
      );
      this.heads.push(this.module(`image${i}`, new ImageHead(o.width)));
    }
    orthogonalInit(this);
  }

  forward(z: Tensor, text: TextFeatures, generator?: Generator, depth?: number): TreeOutput {
    const refinements = stageDepth(this.stages, depth) - 1;
    if (text.words === undefined) throw new Error('AttnGAN needs word features (text.words)');
    const { condition, mu, logvar } = this.ca.forward(text.sentence, generator);
    using c = condition;
    const stages: Tensor[] = [];
    const attention: Tensor[] = [];
    let h = this.initial.forward(z, c);
    try {
      stages.push(this.heads[0]!.forward(h));
      for (let i = 0; i < refinements; i++) {
        const next = this.refinements[i]!.forward(h, text.words, text.mask);
        h.dispose();
        h = next.features;
        attention.push(next.attention);
        stages.push(this.heads[i + 1]!.forward(h));
      }
    } catch (e) {
      [...stages, ...attention, mu, logvar].forEach((t) => t.dispose());
      throw e;
    } finally {
      h.dispose();
    }
    return { stages, mu, logvar, attention };
  }

  conditionMean(sentence: Tensor): Tensor {
    return conditionMean(this.ca, sentence);
  }
}
