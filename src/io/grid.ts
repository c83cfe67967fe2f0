// Image grids, as torchvision.utils.make_grid: a batch [N, C, H, W] tiled nrow images per row
// with `padding` pixels of `padValue` around and between them.
import { F, Tensor, cat, full, stack, tidy } from '../engine/internal.js';
import { saveImage } from './image.js';

export interface GridOptions {
  /** Images per row (default 8). */
  nrow?: number;
  /** Pixels between and around the images (default 2). */
  padding?: number;
  /** Value of the padding pixels (default 0; -1 is black and 1 white for [-1, 1] images). */
  padValue?: number;
}

function checkInt(name: string, v: number, min: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min)
    throw new TypeError(`Expected ${name} to be an integer >= ${min} but received ${String(v)}`);
  return v;
}

/**
 * Tiles images into one [C, H', W'] tensor, as torchvision.utils.make_grid does: a [N, C, H, W]
 * batch (or a list of [C, H, W] images) in rows of `nrow`; one-channel images become three;
 * empty cells of the last row are `padValue`; a single image comes back without padding.
 * The result is a new tensor; the input is not disposed.
 * @example saveImage(makeGrid(G.forward(z), { nrow: 4, padValue: 1 }), 'samples.png')
 */
export function makeGrid(images: Tensor | Tensor[], opts: GridOptions = {}): Tensor {
  const nrow = checkInt('nrow', opts.nrow ?? 8, 1);
  const p = checkInt('padding', opts.padding ?? 2, 0);
  const padValue = opts.padValue ?? 0;
  if (typeof padValue !== 'number')
    throw new TypeError(`Expected padValue to be a number but received ${typeof padValue}`);
  return tidy(() => {
    let x: Tensor;
    if (Array.isArray(images)) {
      if (images.length === 0) throw new TypeError('Expected at least one image but received an empty list');
      x = stack(images, 0);
    } else if (images instanceof Tensor) {
      x = images;
    } else {
      throw new TypeError(
        `Expected a Tensor [N, C, H, W] or a list of [C, H, W] tensors but received ${typeof images}`,
      );
    }
    // Lower ranks as torchvision: [H, W] is one greyscale image, [C, H, W] one image.
    if (x.rank === 2) x = x.unsqueeze(0);
    if (x.rank === 3) x = x.size(0) === 1 ? cat([x, x, x], 0).unsqueeze(0) : x.unsqueeze(0);
    if (x.rank !== 4)
      throw new TypeError(`Expected images of shape [N, C, H, W] but received [${x.shape.join(', ')}] (${x.dtype})`);
    if (x.size(1) === 1) x = cat([x, x, x], 1);
    const [n, c, h, w] = x.shape as [number, number, number, number];
    if (n === 0) throw new TypeError('Expected at least one image but received a batch of 0');
    if (n === 1) return x.squeeze(0).clone();

    const cols = Math.min(nrow, n);
    const rows = Math.ceil(n / cols);
    // Each image gets `p` pixels on its right and bottom; the empty cells of the last row are
    // all padding; then the tiles are laid out and the left and top border added.
    let tiles = p > 0 ? F.pad(x, [0, p, 0, p], 'constant', padValue) : x;
    const missing = rows * cols - n;
    if (missing > 0)
      tiles = cat([tiles, full([missing, c, h + p, w + p], padValue, { dtype: x.dtype, device: x.device })], 0);
    const grid = tiles
      .reshape(rows, cols, c, h + p, w + p)
      .permute(2, 0, 3, 1, 4)
      .reshape(c, rows * (h + p), cols * (w + p));
    return p > 0 ? F.pad(grid, [p, 0, p, 0], 'constant', padValue) : grid.contiguous();
  });
}

/** makeGrid, then saveImage (a .png or .jpg file; float images in [-1, 1]). */
export async function saveGrid(images: Tensor | Tensor[], file: string, opts: GridOptions = {}): Promise<void> {
  const grid = makeGrid(images, opts);
  try {
    await saveImage(grid, file);
  } finally {
    grid.dispose();
  }
}
