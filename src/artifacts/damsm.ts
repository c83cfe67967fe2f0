// A trained DAMSM (Xu et al. 2018, §3.3) from its run: the text encoder as the conditioner the
// caption GANs read, and on request the image encoder that R-precision and the DAMSM loss use. A
// caption GAN's model file holds the text encoder it was trained on (not the image encoder): it can
// give that text encoder alone, so a model goes on reading the sentences it learnt from when its
// DAMSM run is gone.
import { DamsmConditioner, conditionerFromMetadata } from '../models/conditioning.js';
import { DamsmImageEncoder, type DamsmImageEncoderOptions } from '../models/damsm/index.js';
import { loadCheckpoint, resolveRunCheckpoint, withPrefix } from './checkpoint.js';

/** A trained DAMSM: its text encoder as a conditioner, and its image encoder when asked for. */
export function loadDamsm(
  p: string,
  withImage: boolean,
): { conditioner: DamsmConditioner; image: DamsmImageEncoder | null } {
  const ck = loadCheckpoint(resolveRunCheckpoint(p, true));
  try {
    const model = String(ck.metadata.model);
    const textOnly = model !== 'damsm' && ck.metadata.condition === 'damsm' && ck.tensors.has('text.embed.weight');
    if (model !== 'damsm' && !textOnly)
      throw new Error(`${ck.path} is not a DAMSM checkpoint, nor a model with a DAMSM text encoder (model: ${model})`);
    if (textOnly && withImage)
      throw new Error(
        `${ck.path} holds the DAMSM text encoder of a ${model} model: R-precision and FID need a DAMSM run's image encoder (eval.damsm)`,
      );
    // A DAMSM checkpoint carries the same vocabulary/textEncoder metadata a GAN stores for its condition.
    const conditioner = conditionerFromMetadata({ ...ck.metadata, condition: 'damsm' }) as DamsmConditioner;
    conditioner.module.loadStateDict(withPrefix(ck.tensors, 'text.'));
    let image: DamsmImageEncoder | null = null;
    if (withImage) {
      const options = ck.metadata.imageEncoder;
      if (options === undefined)
        throw new Error(
          `${ck.path} holds a DAMSM's text encoder only: R-precision and FID need its image encoder too (a DAMSM run, or creativeai export --image-encoder)`,
        );
      image = new DamsmImageEncoder(JSON.parse(options) as DamsmImageEncoderOptions);
      image.loadStateDict(withPrefix(ck.tensors, 'image.'));
      image.eval().requiresGrad_(false);
    }
    return { conditioner, image };
  } finally {
    for (const t of ck.tensors.values()) t.dispose();
  }
}
