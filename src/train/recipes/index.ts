// The models the trainer knows, by the name configs use.
import type { RecipeFactory } from '../recipe.js';
import { attributeClassifier } from './attribute-classifier.js';
import { conditionalGan } from './conditional-gan.js';
import { damsm } from './damsm.js';
import { dfgan } from './dfgan.js';
import { latentEncoder } from './latent-encoder.js';
import { stackganStage1 } from './stackgan-stage1.js';
import { stackganStage2 } from './stackgan-stage2.js';
import { tagProjectionGan } from './tag-projection-gan.js';
import { attngan, stackganPlusPlus } from './tree-gan.js';

const factories: RecipeFactory[] = [
  conditionalGan('gan-int-cls'),
  conditionalGan('wgan-cls'),
  conditionalGan('tag-gan'),
  tagProjectionGan,
  dfgan,
  stackganStage1,
  stackganStage2,
  stackganPlusPlus,
  attngan,
  damsm,
  attributeClassifier,
  latentEncoder,
];

export const MODELS = factories.map((f) => f.model);

export function recipeFor(model: string): RecipeFactory {
  const f = factories.find((x) => x.model === model);
  if (f === undefined) throw new Error(`unknown model '${model}' (known: ${MODELS.join(', ')})`);
  return f;
}
