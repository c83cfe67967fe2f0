// A built-in procedural dataset: one or two coloured shapes on a dark grey background, with
// compositional captions ("a small red circle above a large blue square"). Everything follows
// from the seed (mulberry32, independent of the engine's generator), so the same seed always
// gives the same records and the same pixels; record i depends only on (seed, i), so a smaller
// count gives a prefix of a larger one.
import type { DatasetSource, Record } from '../types.js';
import { Prng } from '../../util/prng.js';

export const SHAPE_KINDS = ['circle', 'square', 'triangle'] as const;
export const SHAPE_COLOURS = ['red', 'green', 'blue', 'yellow', 'purple', 'white'] as const;
export const SHAPE_SIZES = ['small', 'large'] as const;
export const SHAPE_RELATIONS = ['above', 'below', 'left of', 'right of'] as const;

export type ShapeKind = (typeof SHAPE_KINDS)[number];
export type ShapeColour = (typeof SHAPE_COLOURS)[number];
export type ShapeSize = (typeof SHAPE_SIZES)[number];
export type ShapeRelation = (typeof SHAPE_RELATIONS)[number];

const RGB: { [c in ShapeColour]: [number, number, number] } = {
  red: [220, 40, 40],
  green: [40, 180, 60],
  blue: [50, 90, 230],
  yellow: [235, 210, 40],
  purple: [150, 60, 190],
  white: [240, 240, 240],
};
/** Background colour (dark grey). */
export const SHAPES_BACKGROUND: [number, number, number] = [40, 40, 40];

/** Half-extent of a shape, as a fraction of the image side. */
const HALF: { [s in ShapeSize]: number } = { small: 0.11, large: 0.19 };
const MARGIN = 0.03;
const INVERSE: { [r in ShapeRelation]: ShapeRelation } = {
  above: 'below',
  below: 'above',
  'left of': 'right of',
  'right of': 'left of',
};

export interface ShapeObject {
  shape: ShapeKind;
  colour: ShapeColour;
  size: ShapeSize;
  /** Centre and half-extent in [0, 1] image coordinates (y down). */
  cx: number;
  cy: number;
  r: number;
}

export interface ShapesOptions {
  /** Number of records. */
  count: number;
  /** Seed of the dataset's own generator (mulberry32). */
  seed: number;
  /**
   * The resolution the scenes are laid out for (default 64): centres and extents are snapped to
   * whole pixels at this size, so rendering at it (or a multiple) gives crisp, symmetric shapes.
   * `render(n)` accepts any size.
   */
  size?: number;
}

/** mulberry32 (the project's Prng) as a function returning floats in [0, 1). */
export function mulberry32(seed: number): () => number {
  const p = new Prng(seed);
  return () => p.next();
}

/** Mixes the dataset seed and a record index into one 32-bit seed (murmur3 finaliser). */
function mix(seed: number, i: number): number {
  let h = (seed >>> 0) ^ Math.imul(i + 1, 0x9e3779b1);
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

const pick = <T>(rng: () => number, xs: readonly T[]): T => xs[Math.floor(rng() * xs.length)] as T;
const uniform = (rng: () => number, lo: number, hi: number): number => lo + (hi - lo) * rng();

function phrase(o: ShapeObject): string {
  return `${o.size} ${o.colour} ${o.shape}`;
}

/** Canonical order of objects: by shape, then colour, then size (the first caption's subject first). */
function canonical(a: ShapeObject, b: ShapeObject): number {
  return (
    SHAPE_KINDS.indexOf(a.shape) - SHAPE_KINDS.indexOf(b.shape) ||
    SHAPE_COLOURS.indexOf(a.colour) - SHAPE_COLOURS.indexOf(b.colour) ||
    SHAPE_SIZES.indexOf(a.size) - SHAPE_SIZES.indexOf(b.size)
  );
}

/** Draws the scene's objects into size*size*3 RGB bytes (row-major), without anti-aliasing. */
export function renderShapes(objects: readonly ShapeObject[], size: number): Uint8Array {
  if (!Number.isInteger(size) || size <= 0)
    throw new TypeError(`Expected size to be a positive integer but received ${String(size)}`);
  const out = new Uint8Array(size * size * 3);
  const [br, bg, bb] = SHAPES_BACKGROUND;
  for (let p = 0; p < size * size; p++) {
    out[3 * p] = br;
    out[3 * p + 1] = bg;
    out[3 * p + 2] = bb;
  }
  for (const o of objects) {
    const [r, g, b] = RGB[o.colour];
    const y0 = Math.max(0, Math.floor((o.cy - o.r) * size));
    const y1 = Math.min(size - 1, Math.ceil((o.cy + o.r) * size));
    const x0 = Math.max(0, Math.floor((o.cx - o.r) * size));
    const x1 = Math.min(size - 1, Math.ceil((o.cx + o.r) * size));
    for (let y = y0; y <= y1; y++) {
      const v = (y + 0.5) / size;
      for (let x = x0; x <= x1; x++) {
        const u = (x + 0.5) / size;
        const dx = u - o.cx;
        const dy = v - o.cy;
        let inside: boolean;
        if (o.shape === 'circle') inside = dx * dx + dy * dy <= o.r * o.r;
        else if (o.shape === 'square') inside = Math.abs(dx) <= o.r && Math.abs(dy) <= o.r;
        // Upright isosceles triangle in the same box: apex at the top, base at the bottom.
        else inside = dy >= -o.r && dy <= o.r && Math.abs(dx) <= (dy + o.r) / 2;
        if (!inside) continue;
        const p = 3 * (y * size + x);
        out[p] = r;
        out[p + 1] = g;
        out[p + 2] = b;
      }
    }
  }
  return out;
}

interface Scene {
  objects: ShapeObject[];
  relation?: ShapeRelation;
  captions: string[];
  classId: string;
  attributes: { [name: string]: string };
}

function makeScene(rng: () => number, grid: number): Scene {
  const snap = (t: number): number => Math.round(t * grid) / grid;
  const object = (): ShapeObject => {
    const size = pick(rng, SHAPE_SIZES);
    return { shape: pick(rng, SHAPE_KINDS), colour: pick(rng, SHAPE_COLOURS), size, cx: 0, cy: 0, r: snap(HALF[size]) };
  };
  const place = (o: ShapeObject, xLo: number, xHi: number, yLo: number, yHi: number): void => {
    o.cx = snap(uniform(rng, xLo + o.r + MARGIN, xHi - o.r - MARGIN));
    o.cy = snap(uniform(rng, yLo + o.r + MARGIN, yHi - o.r - MARGIN));
  };

  if (rng() < 0.35) {
    const a = object();
    place(a, 0, 1, 0, 1);
    const p = phrase(a);
    const pool = [`there is a ${p}`, `a ${p} on a dark background`, `a single ${p}`];
    return {
      objects: [a],
      captions: [`a ${p}`, ...paraphrases(rng, pool)],
      classId: `${a.colour} ${a.shape}`,
      attributes: { shape: a.shape, colour: a.colour, size: a.size },
    };
  }

  let a = object();
  let b = object();
  while (b.shape === a.shape && b.colour === a.colour) b = object();
  if (canonical(a, b) > 0) [a, b] = [b, a];
  const relation = pick(rng, SHAPE_RELATIONS);
  // a is `relation` b: each gets its own half of the image, so the relation is unambiguous.
  if (relation === 'above' || relation === 'below') {
    const [top, bottom] = relation === 'above' ? [a, b] : [b, a];
    place(top, 0, 1, 0, 0.5);
    place(bottom, 0, 1, 0.5, 1);
  } else {
    const [left, right] = relation === 'left of' ? [a, b] : [b, a];
    place(left, 0, 0.5, 0, 1);
    place(right, 0.5, 1, 0, 1);
  }
  const pa = phrase(a);
  const pb = phrase(b);
  const pool = [
    `a ${pb} ${INVERSE[relation]} a ${pa}`,
    `there is a ${pa} ${relation} a ${pb}`,
    `a ${pa} is ${relation} a ${pb}`,
    `a ${pb} with a ${pa} ${relation} it`,
  ];
  return {
    objects: [a, b],
    relation,
    captions: [`a ${pa} ${relation} a ${pb}`, ...paraphrases(rng, pool)],
    classId: `${a.colour} ${a.shape}|${b.colour} ${b.shape}`,
    attributes: {
      shape: a.shape,
      colour: a.colour,
      size: a.size,
      relation,
      shape2: b.shape,
      colour2: b.colour,
      size2: b.size,
    },
  };
}

/** 0 to 2 distinct sentences from `pool` (so a record has 1 to 3 captions). */
function paraphrases(rng: () => number, pool: string[]): string[] {
  const n = Math.floor(rng() * 3);
  const left = [...pool];
  const out: string[] = [];
  for (let k = 0; k < n && left.length > 0; k++) out.push(left.splice(Math.floor(rng() * left.length), 1)[0] as string);
  return out;
}

/**
 * The procedural shapes dataset: `count` scenes of one or two shapes (circle/square/triangle in
 * red/green/blue/yellow/purple/white, small or large; two-shape scenes related by above/below/
 * left of/right of), 1–3 paraphrased captions each, rendered on demand by `image.render(size)`.
 * classId is the scene without sizes and positions ("red circle|blue square").
 * @example const ds = makeShapes({ count: 1000, seed: 1 }); const rgb = (ds.records[0].image as any).render(64);
 */
export function makeShapes(opts: ShapesOptions): DatasetSource {
  const { count, seed } = opts;
  const grid = opts.size ?? 64;
  if (!Number.isInteger(count) || count < 0)
    throw new TypeError(`Expected count to be a non-negative integer but received ${String(count)}`);
  if (typeof seed !== 'number' || !Number.isFinite(seed))
    throw new TypeError(`Expected seed to be a finite number but received ${String(seed)}`);
  if (!Number.isInteger(grid) || grid < 8)
    throw new TypeError(`Expected size to be an integer of at least 8 but received ${String(opts.size)}`);
  const records: Record[] = [];
  const width = Math.max(6, String(count - 1).length);
  for (let i = 0; i < count; i++) {
    const scene = makeScene(mulberry32(mix(seed, i)), grid);
    const objects = scene.objects;
    records.push({
      id: `shapes/${String(i).padStart(width, '0')}`,
      image: { kind: 'render', render: (size: number) => renderShapes(objects, size) },
      captions: scene.captions,
      classId: scene.classId,
      attributes: scene.attributes,
    });
  }
  return { name: 'shapes', text: 'captions', records, problems: [] };
}
