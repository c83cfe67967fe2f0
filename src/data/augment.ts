// The reference implementations' augmentation on raw bytes: a random r×r crop of the stored
// (slightly larger) image and a random horizontal flip, written channel-first for the network.

/** One sample's augmentation: relative crop position (0..1 in each axis) and flip. */
export interface Augmentation {
  fx: number;
  fy: number;
  flip: boolean;
}

/**
 * Crops an r×r window from an HWC image of side `side` at the relative position (fx, fy),
 * optionally mirrored, into dst as CHW starting at dstOffset.
 */
export function cropFlipToChw(
  src: Uint8Array,
  srcOffset: number,
  side: number,
  r: number,
  aug: Augmentation,
  dst: Uint8Array,
  dstOffset: number,
): void {
  const ox = Math.round(aug.fx * (side - r));
  const oy = Math.round(aug.fy * (side - r));
  const plane = r * r;
  for (let y = 0; y < r; y++) {
    const row = srcOffset + ((oy + y) * side + ox) * 3;
    const out = dstOffset + y * r;
    if (aug.flip) {
      for (let x = 0; x < r; x++) {
        const s = row + (r - 1 - x) * 3;
        dst[out + x] = src[s]!;
        dst[out + plane + x] = src[s + 1]!;
        dst[out + 2 * plane + x] = src[s + 2]!;
      }
    } else {
      for (let x = 0; x < r; x++) {
        const s = row + x * 3;
        dst[out + x] = src[s]!;
        dst[out + plane + x] = src[s + 1]!;
        dst[out + 2 * plane + x] = src[s + 2]!;
      }
    }
  }
}
