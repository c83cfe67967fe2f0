// A model card's training facts, written from files like its metrics, never typed: the checkpoint
// and step from the exported model's own metadata, and, when the card names the run's record
// (docs/results/runs/<run>.json, `creativeai results --summarize`), the images seen by that step
// and the whole run's length, CPU time and mode, and what the run started from when it did not start
// from nothing. Only `hardware` is the card's own words.
import { count } from './card-metrics.js';
import { modeText, type RunSummary } from './run-summary.js';

export type CardTraining = Record<string, string | number>;

const hours = (s: number): string => (s / 3600).toFixed(1);

/** A run's length as a card shows it: "23,496 steps, 1.50 M images, 10.6 h wall-clock, …". */
export function runLength(r: RunSummary): string {
  const cpu =
    r.cpuSeconds === null
      ? 'CPU time not recorded'
      : `${hours(r.cpuSeconds)} CPU-hours${r.cpuFromStep > 0 ? ` since step ${count(r.cpuFromStep)}` : ''}`;
  const mode = r.mode ? `, ${modeText(r.mode)}` : '';
  return `${count(r.steps)} steps, ${(r.imagesSeen / 1e6).toFixed(2)} M images, ${hours(r.wallSeconds)} h wall-clock, ${cpu}${mode}`;
}

/**
 * The card's `training`: `hardware` as the card has it, `checkpoint` and `steps` from the model
 * file's metadata (and `stage1` for a stacked model), and with a run record `images` (seen by that
 * step) and `run` (the run's length).
 */
export function cardTraining(
  hardware: string | undefined,
  model: { file: string; metadata: Record<string, string> },
  record?: { file: string; summary: RunSummary },
): CardTraining {
  const out: CardTraining = {};
  if (hardware !== undefined) out.hardware = hardware;
  const { exportedFrom, step } = model.metadata;
  if (exportedFrom !== undefined) out.checkpoint = exportedFrom;
  if (step === undefined) {
    if (record !== undefined) throw new Error(`${model.file} records no step to find in ${record.file}`);
    return out;
  }
  out.steps = Number(step);
  // A stacked model's file (StackGAN Stage II) records its last stage's step only, and the Stage I it
  // was trained on in its config; a record is the Stage II run's.
  if (model.metadata.stage1Model !== undefined) {
    const stage1 = stage1Of(model.metadata.config);
    if (stage1 !== undefined) out.stage1 = stage1;
    if (record === undefined) {
      out.steps = `${count(out.steps)} (Stage II; Stage I's are not recorded in the file)`;
      return out;
    }
    out.steps = `${count(out.steps)} (Stage II)`;
  }
  if (record !== undefined) {
    const r = record.summary;
    if (Number(step) > r.steps)
      throw new Error(
        `${model.file} is from step ${step}, after the end of ${record.file} (${r.steps}): summarize the run again`,
      );
    // Every step sees the same number of images (the batch), as the record's own curve assumes.
    const own = Math.round((Number(step) * r.imagesSeen) / r.steps);
    // A run that started from another model's weights: its G had seen that model's images too.
    const before = r.startedFrom?.images ?? 0;
    out.images = own + before;
    if (r.startedFrom)
      out.startedFrom =
        `${r.startedFrom.file}` +
        (r.startedFrom.step !== null ? ` at step ${count(r.startedFrom.step)}` : '') +
        (r.startedFrom.images !== null
          ? `: ${count(r.startedFrom.images)} of the images above were seen before this run`
          : ': the images seen before this run are not recorded');
    out.run = `${out.stage1 !== undefined ? 'Stage II: ' : ''}${runLength(r)} (${record.file})`;
  }
  return out;
}

/** The Stage I run or checkpoint a Stage II config names, when the file records its config. */
function stage1Of(config: string | undefined): string | undefined {
  if (config === undefined) return undefined;
  const stage1 = (JSON.parse(config) as { stage1?: unknown }).stage1;
  return typeof stage1 === 'string' ? stage1 : undefined;
}
