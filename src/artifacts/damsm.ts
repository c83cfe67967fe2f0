// A trained DAMSM (Xu et al. 2018, §3.3) from its run: the text encoder as the conditioner the
// caption GANs read, and on request the image encoder that R-precision and the DAMSM loss use.
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
    if (ck.metadata.model !== 'damsm')
      throw new Error(`${ck.path} is not a DAMSM checkpoint (model: ${String(ck.metadata.model)})`);
    // A DAMSM checkpoint carries the same vocabulary/textEncoder metadata a GAN stores for its condition.
    const conditioner = conditionerFromMetadata({ ...ck.metadata, condition: 'damsm' }) as DamsmConditioner;
    conditioner.module.loadStateDict(withPrefix(ck.tensors, 'text.'));
    let image: DamsmImageEncoder | null = null;
    if (withImage) {
      image = new DamsmImageEncoder(JSON.parse(ck.metadata.imageEncoder ?? 'null') as DamsmImageEncoderOptions);
      image.loadStateDict(withPrefix(ck.tensors, 'image.'));
      image.eval().requiresGrad_(false);
    }
    return { conditioner, image };
  } finally {
    for (const t of ck.tensors.values()) t.dispose();
  }
}
