// The FID Inception-v3 with its weights: pytorch-fid's pt_inception-2015-12-05-6726825d.pth (the
// TensorFlow 2015 graph that FID and IS are defined with), converted to safetensors by
// scripts/convert-inception.py. Weights cannot be fetched here, so the user supplies the file; it is
// checked name by name and shape by shape before anything is read, so a wrong file fails at once.
import fs from 'node:fs';

import type { Device } from '../engine/index.js';
import { loadSafetensors, readSafetensorsHeader, tensorsDigest } from '../io/index.js';
import { InceptionV3, type InceptionV3Options } from '../models/inception-v3.js';

/** The feature network name cached statistics carry (fid.ts): only equal names are compared. */
export const INCEPTION_FEATURES = 'inception-v3-fid-2015-12-05/pool3';

const HOW =
  "convert pytorch-fid's pt_inception-2015-12-05-6726825d.pth with scripts/convert-inception.py (see docs/evaluation.md)";

/** PyTorch's BatchNorm step counter: saved in state dicts, meaningless for inference. */
const IGNORED = /\.num_batches_tracked$/;

function listed(names: string[], show = 5): string {
  const head = names.slice(0, show).join(', ');
  return names.length > show ? `${head}, … (${names.length - show} more)` : head;
}

/**
 * Copies the weights in `file` into `model`, after checking that the file holds exactly the
 * model's tensors with the model's shapes; the error names what is missing, extra or misshapen.
 */
export function loadInceptionWeights(model: InceptionV3, file: string): void {
  if (!fs.existsSync(file)) throw new Error(`Inception weights ${file} do not exist: ${HOW}`);
  const header = readSafetensorsHeader(file);
  const own = model.stateDict();
  const got = new Map(header.tensors.filter((t) => !IGNORED.test(t.name)).map((t) => [t.name, t]));
  const missing = [...own.keys()].filter((k) => !got.has(k));
  const unexpected = [...got.keys()].filter((k) => !own.has(k));
  const misshapen: string[] = [];
  for (const [k, t] of own) {
    const g = got.get(k);
    if (g && g.shape.join(',') !== t.shape.join(','))
      misshapen.push(`${k} is [${g.shape.join(', ')}], expected [${t.shape.join(', ')}]`);
  }
  const floating = header.tensors.filter((t) => !IGNORED.test(t.name) && !/^(float|bfloat)/.test(t.dtype));
  const problems = [
    missing.length > 0 ? `${missing.length} tensor(s) missing (${listed(missing)})` : '',
    unexpected.length > 0 ? `${unexpected.length} unexpected (${listed(unexpected)})` : '',
    misshapen.length > 0 ? `${misshapen.length} with the wrong shape (${listed(misshapen, 3)})` : '',
    floating.length > 0 ? `${floating.length} not floating point (${listed(floating.map((t) => t.name))})` : '',
  ].filter((p) => p !== '');
  if (problems.length > 0)
    throw new Error(`${file} does not hold the FID Inception-v3 weights: ${problems.join('; ')}. To get them, ${HOW}`);
  const { tensors } = loadSafetensors(file);
  try {
    model.loadStateDict(new Map([...tensors].filter(([k]) => !IGNORED.test(k))));
  } finally {
    for (const t of tensors.values()) t.dispose();
  }
}

/**
 * The first 8 hex digits of the SHA-256 of pytorch-fid's weights file (its name,
 * pt_inception-2015-12-05-6726825d.pth, carries them: torch.hub names files so and checks a download
 * against them the same way).
 */
export const FID_WEIGHTS_SHA256_PREFIX = '6726825d';

/**
 * Whether `file` holds pytorch-fid's weights as scripts/convert-inception.py converted them: its
 * metadata names a source file whose SHA-256 starts with FID_WEIGHTS_SHA256_PREFIX, and the
 * digest of its tensors that the converter recorded is the digest of the tensors in the file (so
 * nothing was changed, and the metadata was not carried over to other weights). Only then is a
 * score a standard FID, KID or IS; otherwise it is labelled as coming from unverified weights.
 */
export function verifyInceptionWeights(file: string): { verified: boolean; reason: string } {
  // The header and a digest of the stored bytes (io's tensorsDigest, the converter's definition for
  // float32 tensors): no tensor is made, the weights are loaded once, by loadInception.
  const { metadata, tensors } = readSafetensorsHeader(file);
  const source = metadata.sha256 ?? '';
  if (!source.startsWith(FID_WEIGHTS_SHA256_PREFIX))
    return {
      verified: false,
      reason:
        source === ''
          ? 'its metadata names no source file checksum (not written by scripts/convert-inception.py)'
          : `its source file's SHA-256 starts ${source.slice(0, 8)}, not pytorch-fid's ${FID_WEIGHTS_SHA256_PREFIX}`,
    };
  const other = tensors.find((t) => t.dtype !== 'float32');
  if (other !== undefined) return { verified: false, reason: `${other.name} is ${other.dtype}, not float32` };
  if (metadata.tensors_sha256 !== tensorsDigest(file))
    return {
      verified: false,
      reason:
        metadata.tensors_sha256 === undefined
          ? 'its metadata has no tensors_sha256 (convert it again with scripts/convert-inception.py)'
          : 'its tensors are not the ones the converter wrote (tensors_sha256 differs)',
    };
  return {
    verified: true,
    reason: `converted from ${metadata.source ?? 'the .pth'} (SHA-256 ${source.slice(0, 16)}…)`,
  };
}

/** The FID Inception-v3 with the weights of `file`, in float32 on `device`, in eval mode. */
export function loadInception(file: string, device: Device = 'cpu', o: InceptionV3Options = {}): InceptionV3 {
  const model = new InceptionV3(o);
  try {
    loadInceptionWeights(model, file);
    return model.to('float32').to(device);
  } catch (e) {
    model.dispose();
    throw e;
  }
}
