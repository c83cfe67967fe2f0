// AttnGAN's attention figure: per image, the image itself and then one copy per word, lit where
// that word's attention falls (the maps bilinearly enlarged to the image and scaled to their own
// maximum), the word written on each tile: which words drew which part of the bird.
import sharp from 'sharp';
import { F, cat, full, tidy, type Tensor } from '../engine/internal.js';
import { writeFileAtomicSync } from '../util/atomic-write.js';
import { tensorToImage } from './image.js';
import { makeGrid } from './grid.js';

export interface AttentionRow {
  /** [3, R, R] in [-1, 1]. */
  image: Tensor;
  /** [L, h, w]: one attention map per word (extra rows past `words` are ignored). */
  maps: Tensor;
  words: readonly string[];
}

const PADDING = 2;

function escapeXml(s: string): string {
  return s.replace(/[<>&'"]/g, (c) => `&#${c.charCodeAt(0)};`);
}

/**
 * The image [3, R, R] (in [-1, 1]) lit by each word's attention map: [n, 3, R, R] in [-1, 1], one per
 * word of `words` (n = its length; `maps` [L, h, w] may hold more rows, past the words, which are
 * ignored). Each map is bilinearly enlarged to R×R and scaled to its own maximum; the image is dimmed
 * where the word does not look and kept where it does.
 */
export function attentionOverlays(image: Tensor, maps: Tensor, words: readonly string[]): Tensor {
  return tidy(() => {
    if (image.rank !== 3 || image.size(0) !== 3 || image.size(1) !== image.size(2))
      throw new TypeError(`expected a square image [3, R, R], got ${image.toString()}`);
    const side = image.size(1);
    const n = words.length;
    if (n === 0) throw new TypeError('attentionOverlays needs at least one word');
    if (maps.rank !== 3 || maps.size(0) < n)
      throw new TypeError(`expected at least ${n} attention maps [L, h, w], got ${maps.toString()}`);
    const big = F.interpolate(maps.narrow(0, 0, n).unsqueeze(0), { size: [side, side], mode: 'bilinear' }).squeeze(0);
    const peak = big
      .reshape(n, side * side)
      .maxDim(1, true)
      .values.view(n, 1, 1)
      .clamp(1e-12);
    const heat = big.div(peak).unsqueeze(1); // [n, 1, R, R] in [0, 1]
    // Dim the image where the word does not look, keep it where it does.
    return image.add(1).mul(0.5).unsqueeze(0).mul(heat.mul(0.8).add(0.2)).mul(2).sub(1);
  });
}

/** The tiles of one row: the image, then the image lit by each word's map; blank (white) to `cols`. */
function rowTiles(row: AttentionRow, cols: number): Tensor {
  return tidy(() => {
    const side = row.image.size(1);
    const n = row.words.length;
    const parts = [row.image.unsqueeze(0), attentionOverlays(row.image, row.maps, row.words)];
    if (cols > n + 1) parts.push(full([cols - n - 1, 3, side, side], 1));
    return cat(parts, 0);
  });
}

/** Writes the figure (PNG or JPEG): one row per image, the words as labels. */
export async function saveAttentionFigure(rows: AttentionRow[], file: string): Promise<void> {
  if (rows.length === 0) throw new TypeError('saveAttentionFigure needs at least one row');
  const side = rows[0]!.image.size(1);
  const cols = 1 + Math.max(...rows.map((r) => r.words.length));
  const grid = tidy(() => {
    const tiles = rows.map((r) => rowTiles(r, cols));
    return makeGrid(cat(tiles, 0), { nrow: cols, padding: PADDING, padValue: 1 });
  });
  let png: Buffer;
  try {
    png = await tensorToImage(grid, 'png');
  } finally {
    grid.dispose();
  }
  const [width, height] = [cols * (side + PADDING) + PADDING, rows.length * (side + PADDING) + PADDING];
  const size = Math.max(9, Math.round(side / 8));
  const labels = rows.flatMap((r, y) =>
    r.words.map((w, i) => {
      const x = PADDING + (i + 1) * (side + PADDING) + 3;
      const top = PADDING + y * (side + PADDING) + size + 2;
      return `<text x="${x}" y="${top}">${escapeXml(w)}</text>`;
    }),
  );
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}"><style>text{font:bold ${size}px sans-serif;fill:#fff;stroke:#000;stroke-width:${Math.max(1, size / 8)}px;paint-order:stroke}</style>${labels.join('')}</svg>`;
  const out = sharp(png).composite([{ input: Buffer.from(svg), top: 0, left: 0 }]);
  const bytes = file.toLowerCase().endsWith('.png') ? await out.png().toBuffer() : await out.jpeg().toBuffer();
  writeFileAtomicSync(file, [bytes]);
}
