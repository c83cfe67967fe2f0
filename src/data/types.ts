// What every dataset adapter produces: records that point at images and carry their text, plus
// the problems found while reading (skipped, counted and reported, never thrown mid-epoch).

/** Where a record's pixels come from: a file, or a function that draws them (procedural sets). */
export type ImageSource =
  | { kind: 'file'; path: string }
  | { kind: 'render'; render: (size: number) => Uint8Array /* size*size*3 RGB bytes, row-major */ };

export interface Record {
  /** Stable identifier, unique in its dataset (usually the image path relative to the root). */
  id: string;
  image: ImageSource;
  /** One or more captions; tag datasets give the tag text ("blue hair red eyes"). */
  captions: string[];
  /** Class (CUB/Oxford species) or tag combination: used for class-disjoint splits and for
   *  choosing mismatched captions from another class. */
  classId: string;
  /** Crop box in source pixels [x, y, width, height] (CUB's bounding boxes). */
  bbox?: [number, number, number, number];
  /** Structured attributes of tag datasets, e.g. { hair: 'blue', eyes: 'red' }. */
  attributes?: { [name: string]: string };
}

export interface DataProblem {
  /** The file or record concerned. */
  item: string;
  reason:
    'missing-image' | 'unreadable-image' | 'empty-captions' | 'caption-without-image' | 'bad-line' | 'unknown-tags';
  detail?: string;
}

export interface DatasetSource {
  /** 'anime-faces', 'cub', 'oxford-102', 'custom', 'shapes' */
  name: string;
  /** The folder it was read from (absent for procedural sets). */
  root?: string;
  /** What the text is: free captions or attribute tags. */
  text: 'captions' | 'tags';
  records: Record[];
  /** A split the public layout defines (CUB/Oxford class splits), by record id. */
  split?: { train: string[]; test: string[] };
  /** The split method when none is asked for, where the layout implies one (cub-extra: all training). */
  splitMethod?: string;
  problems: DataProblem[];
}

/** Formats problems for the console: counts per reason and the first few items by name. */
export function describeProblems(problems: DataProblem[], show = 5): string {
  if (problems.length === 0) return 'no problems';
  const counts = new Map<string, number>();
  for (const p of problems) counts.set(p.reason, (counts.get(p.reason) ?? 0) + 1);
  const lines = [...counts].map(([r, n]) => `${n} × ${r}`);
  const first = problems.slice(0, show).map((p) => `  ${p.item}: ${p.reason}${p.detail ? ` (${p.detail})` : ''}`);
  return `skipped ${problems.length} item(s): ${lines.join(', ')}\n${first.join('\n')}${problems.length > show ? '\n  …' : ''}`;
}
