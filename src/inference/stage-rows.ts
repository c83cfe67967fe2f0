// The sample grid of a stacked generator: each condition's images once per stage, smallest stage
// first, scaled up to the last stage's side so the stages line up in one grid.
import { F, cat, type Tensor } from '../engine/index.js';

/**
 * Stage images [N, 3, r_i, r_i] (N = rows·perCondition) → one grid batch at the last side: for each
 * group of perCondition images, a row per stage, smallest first.
 */
export function stageRows(stages: Tensor[], perCondition: number): Tensor {
  const side = stages[stages.length - 1]!.size(2);
  const rows = stages[0]!.size(0) / perCondition;
  const parts = stages.map((s) => {
    using up = s.size(2) === side ? s.alias() : F.interpolate(s, { size: [side, side], mode: 'nearest' });
    return up.reshape(rows, 1, perCondition * 3 * side * side);
  });
  using all = cat(parts, 1);
  parts.forEach((p) => p.dispose());
  return all.reshape(rows * stages.length * perCondition, 3, side, side);
}
