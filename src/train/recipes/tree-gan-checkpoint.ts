// Rebuilding a StackGAN++ or AttnGAN generator from a checkpoint or export: its options are in the
// metadata, its weights under `G_ema.` (the moving average) or `G.`, the text encoder under `text.`.
import type { Device, Tensor } from '../../engine/index.js';
import { conditionerFromMetadata, type Conditioner } from '../../models/conditioning.js';
import type { TreeGenerator, TreeGeneratorOptions } from '../../models/stackganpp/index.js';
import { withPrefix } from '../checkpoint.js';
import { TREE_MODELS, buildTreeGenerator } from './tree-gan.js';

export function isTreeModel(model: string | undefined): boolean {
  return (TREE_MODELS as readonly (string | undefined)[]).includes(model);
}

export function treeGanFromCheckpoint(
  tensors: Map<string, Tensor>,
  metadata: Record<string, string>,
  device: Device,
): { G: TreeGenerator; conditioner: Conditioner; usedEma: boolean } {
  const opts = JSON.parse(metadata.generator ?? 'null') as (TreeGeneratorOptions & { wordDim?: number }) | null;
  if (opts === null) throw new Error('the checkpoint has no generator description');
  const G = buildTreeGenerator(String(metadata.model), opts);
  const ema = withPrefix(tensors, 'G_ema.');
  const usedEma = ema.size > 0;
  G.loadStateDict(usedEma ? ema : withPrefix(tensors, 'G.'));
  // Exported fp16 weights are computed in float32.
  G.to('float32').to(device).eval().requiresGrad_(false);
  const conditioner = conditionerFromMetadata(metadata);
  if (conditioner.module) {
    conditioner.module.loadStateDict(withPrefix(tensors, 'text.'));
    conditioner.module.to('float32').to(device);
  }
  return { G, conditioner, usedEma };
}
