// Images <-> tensors through sharp (libvips). Models see float32 [C, H, W] in [-1, 1] (the range
// a tanh generator produces); files are 8-bit PNG or JPEG.
import path from 'node:path';

import sharp from 'sharp';

import { Tensor, deviceCode, dtypeCode, isFloating, native, type Device } from '../engine/internal.js';
import { writeFileAtomicSync } from '../util/atomic-write.js';

export type ImageFormat = 'png' | 'jpeg';

export interface ImageToTensorOptions {
  /**
   * Output size: a number gives a size x size square, [h, w] an exact size. Without it the image
   * keeps its own size.
   */
  size?: number | [number, number];
  /** How the image is fitted to `size` (default 'cover': scale to fill, then centre-crop). */
  fit?: 'cover' | 'fill' | 'contain';
  /** 3 for RGB (default; greyscale is replicated, alpha dropped), 1 for greyscale. */
  channels?: 1 | 3;
  /** Where the tensor is created (default 'cpu'). */
  device?: Device;
}

function describe(t: Tensor): string {
  return `${t.dtype} [${t.shape.join(', ')}]`;
}

function checkSize(size: number | [number, number]): [number, number] {
  const hw: unknown[] = typeof size === 'number' ? [size, size] : Array.isArray(size) ? size : [];
  if (hw.length !== 2 || !hw.every((s) => typeof s === 'number' && Number.isInteger(s) && s > 0))
    throw new TypeError(
      `Expected size to be a positive integer or [height, width] but received ${JSON.stringify(size)}`,
    );
  return hw as [number, number];
}

/**
 * Reads an image (a file path or encoded bytes: PNG, JPEG, WebP, ...) into a float32 tensor
 * [C, H, W] with values in [-1, 1] (pixel / 127.5 - 1).
 * @example const x = await imageToTensor('birds/001.jpg', { size: 64 });
 */
export async function imageToTensor(input: string | Buffer, opts: ImageToTensorOptions = {}): Promise<Tensor> {
  if (typeof input !== 'string' && !Buffer.isBuffer(input))
    throw new TypeError(`Expected a file path or a Buffer of encoded image bytes but received ${typeof input}`);
  const channels = opts.channels ?? 3;
  if (channels !== 1 && channels !== 3)
    throw new TypeError(`Expected channels to be 1 or 3 but received ${String(channels)}`);
  const device = deviceCode(opts.device ?? 'cpu');
  let img = sharp(input);
  if (opts.size !== undefined) {
    const [height, width] = checkSize(opts.size);
    img = img.resize({ width, height, fit: opts.fit ?? 'cover', position: 'centre' });
  }
  img = channels === 3 ? img.removeAlpha().toColourspace('srgb') : img.removeAlpha().toColourspace('b-w');
  const { data, info } = await img.raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true });
  const { width: w, height: h } = info;
  if (info.channels !== channels)
    throw new Error(`Decoding gave ${info.channels} channels where ${channels} were expected`);
  // HWC bytes -> CHW floats.
  const plane = w * h;
  const out = new Float32Array(channels * plane);
  for (let c = 0; c < channels; c++)
    for (let i = 0; i < plane; i++) out[c * plane + i] = (data[i * channels + c] as number) / 127.5 - 1;
  return new Tensor(native.fromBuffer(out, [channels, h, w], dtypeCode('float32'), device));
}

/** The interleaved 8-bit pixels of an image tensor, with its size. */
function toPixels(t: Tensor): { pixels: Uint8Array; width: number; height: number; channels: 1 | 3 } {
  if (!(t instanceof Tensor)) throw new TypeError(`Expected a Tensor but received ${t === null ? 'null' : typeof t}`);
  const shape = t.shape;
  const dtype = t.dtype;
  if (dtype === 'uint8') {
    if (shape.length !== 3 || (shape[2] !== 3 && shape[2] !== 1))
      throw new TypeError(`Expected a uint8 image of shape [H, W, 3] or [H, W, 1] but received ${describe(t)}`);
    const [height, width, c] = shape as [number, number, number];
    return { pixels: new Uint8Array(native.toBuffer(t.handle)), width, height, channels: c as 1 | 3 };
  }
  if (!isFloating(dtype))
    throw new TypeError(
      `Expected a float image [3, H, W] / [1, H, W] in [-1, 1] or a uint8 image [H, W, 3] but received ${describe(t)}`,
    );
  if (shape.length !== 3 || (shape[0] !== 3 && shape[0] !== 1))
    throw new TypeError(
      `Expected a float image of shape [3, H, W] or [1, H, W] but received ${describe(t)}` +
        (shape.length === 4 ? ' (use makeGrid for a batch)' : ''),
    );
  const [c, height, width] = shape as [number, number, number];
  const src = t.toFloat32Array();
  const plane = width * height;
  const pixels = new Uint8Array(c * plane);
  for (let ch = 0; ch < c; ch++)
    for (let i = 0; i < plane; i++) {
      // As torchvision's save_image: scale to [0, 255], add 0.5, clamp, truncate. NaN becomes 0.
      const v = ((src[ch * plane + i] as number) + 1) * 127.5 + 0.5;
      pixels[i * c + ch] = v >= 255 ? 255 : v > 0 ? v : 0;
    }
  return { pixels, width, height, channels: c as 1 | 3 };
}

/**
 * Encodes an image tensor as PNG (lossless, the default) or JPEG: a float [3, H, W] or [1, H, W]
 * with values in [-1, 1] (clamped), or uint8 [H, W, 3]. The tensor is not disposed.
 */
export async function tensorToImage(t: Tensor, format: ImageFormat = 'png'): Promise<Buffer> {
  if (format !== 'png' && format !== 'jpeg')
    throw new TypeError(`Expected format 'png' or 'jpeg' but received ${JSON.stringify(format)}`);
  const { pixels, width, height, channels } = toPixels(t);
  if (width === 0 || height === 0) throw new TypeError(`Cannot encode an empty image (${width}x${height})`);
  let img = sharp(pixels, { raw: { width, height, channels } });
  if (channels === 1) img = img.toColourspace('b-w'); // else sharp writes one channel as sRGB
  return format === 'png' ? img.png().toBuffer() : img.jpeg({ quality: 95 }).toBuffer();
}

/** The image format a file name asks for (.png, .jpg or .jpeg). */
export function formatOf(file: string): ImageFormat {
  const ext = path.extname(file).toLowerCase();
  if (ext === '.png') return 'png';
  if (ext === '.jpg' || ext === '.jpeg') return 'jpeg';
  throw new TypeError(`Expected an image file name ending in .png, .jpg or .jpeg but received ${JSON.stringify(file)}`);
}

/** Writes an image tensor (see tensorToImage) to a .png / .jpg file, atomically. */
export async function saveImage(t: Tensor, file: string): Promise<void> {
  const bytes = await tensorToImage(t, formatOf(file));
  writeFileAtomicSync(file, [bytes]);
}
