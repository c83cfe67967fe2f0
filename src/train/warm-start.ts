// A run that starts from another run's weights (a larger model grown from a smaller one, or a model
// file continued when its run's checkpoints are gone): the source's best checkpoint or the file,
// checked to be the same kind of model on the same sentence encoder, since the kept layers learnt to
// read that encoder's features. An exported file may hold the encoder in fp16: it is compared at the
// file's precision.
import { loadCheckpoint, resolveRunCheckpoint, type LoadedCheckpoint } from '../artifacts/checkpoint.js';
import { noGrad, tidy } from '../engine/index.js';
import type { Module } from '../nn/index.js';

/** The checkpoint of `from` (its best, else its newest); the caller disposes its tensors. */
export function readWarmStart(
  from: string,
  model: string,
  text: Module | null | undefined,
  option = 'grow.from',
): LoadedCheckpoint {
  const ck = loadCheckpoint(resolveRunCheckpoint(from, true));
  try {
    if (ck.metadata.model !== model)
      throw new Error(`${option}: ${ck.path} is not a ${model} checkpoint (model: ${ck.metadata.model})`);
    if (text !== null && text !== undefined)
      for (const [k, t] of text.stateDict()) {
        const there = ck.tensors.get(`text.${k}`);
        const same =
          there !== undefined &&
          there.shape.join() === t.shape.join() &&
          noGrad(() =>
            tidy(() => t.to({ dtype: there.dtype }).float().sub(there.to(t.device).float()).abs().max().item()),
          ) === 0;
        if (!same)
          throw new Error(
            `${option}: ${ck.path} was trained on another sentence encoder than condition.damsm (text.${k} differs)`,
          );
      }
    return ck;
  } catch (e) {
    for (const t of ck.tensors.values()) t.dispose();
    throw e;
  }
}
