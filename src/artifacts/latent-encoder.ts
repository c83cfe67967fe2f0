// The image → latent encoder (models/latent-encoder.ts) rebuilt from its training run, a checkpoint,
// or the file shipped beside a model (`models/<name>.encoder.safetensors`, from `creativeai export`).
import type { Device } from '../engine/index.js';
import { LatentEncoder, type LatentEncoderOptions } from '../models/latent-encoder.js';
import { loadCheckpoint, resolveRunCheckpoint, withPrefix } from './checkpoint.js';

/** `models/x.safetensors` → `models/x.encoder.safetensors`. */
export const encoderFileOf = (model: string): string => model.replace(/\.safetensors$/, '.encoder.safetensors');

/** A run directory (its best checkpoint, else the newest), a checkpoint or an exported encoder. */
export function loadLatentEncoder(p: string, device: Device = 'cpu'): { net: LatentEncoder; source: string } {
  const ck = loadCheckpoint(resolveRunCheckpoint(p, true));
  try {
    if (ck.metadata.model !== 'latent-encoder')
      throw new Error(`${ck.path} is not a latent-encoder (model: ${String(ck.metadata.model)})`);
    const options = JSON.parse(ck.metadata.encoder ?? 'null') as LatentEncoderOptions | null;
    if (options === null) throw new Error(`${ck.path} has no encoder description`);
    const net = new LatentEncoder(options);
    net.loadStateDict(withPrefix(ck.tensors, 'encoder.'));
    net.to('float32').to(device).eval().requiresGrad_(false);
    return { net, source: ck.path };
  } finally {
    for (const t of ck.tensors.values()) t.dispose();
  }
}
