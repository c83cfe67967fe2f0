// Attribute tags of the anime-faces dataset (NTU MLDS 2018 HW3-2): "<colour> hair <colour> eyes".
// Parsing of tag text and of the assignment's testing_tags.txt, and the tag vocabulary that turns
// tags into indices, the per-attribute one-hot condition vector and hair × eyes combination ids.
import { tensor, type Device, type Tensor } from '../engine/index.js';
import { loadJsonFile, saveJsonFile } from './json-file.js';
import { tokenize } from './tokenizer.js';

/** Hair colours of the dataset (tags.csv has all 12), in alphabetical order. */
export const HAIR_COLOURS: readonly string[] = Object.freeze([
  'aqua',
  'black',
  'blonde',
  'blue',
  'brown',
  'gray',
  'green',
  'orange',
  'pink',
  'purple',
  'red',
  'white',
]);

/**
 * Eye colours of the assignment (11), in alphabetical order. tags.csv uses only 10 of them: no image
 * has gray eyes, so a model can be asked for gray eyes (the slot exists) but never saw them.
 */
export const EYE_COLOURS: readonly string[] = Object.freeze([
  'aqua',
  'black',
  'blue',
  'brown',
  'gray',
  'green',
  'orange',
  'pink',
  'purple',
  'red',
  'yellow',
]);

/** Other spellings accepted for a colour. */
export const COLOUR_ALIASES: Readonly<Record<string, string>> = Object.freeze({ grey: 'gray', blond: 'blonde' });

/** Which colours are valid for each attribute. */
export interface TagColours {
  hair: readonly string[];
  eyes: readonly string[];
}

const KNOWN: TagColours = { hair: HAIR_COLOURS, eyes: EYE_COLOURS };

/** A hair and/or eye colour; also the shape of a dataset record's `attributes`. */
export interface TagAttributes {
  hair?: string;
  eyes?: string;
}

/** Tag text ("blue hair red eyes") or attributes ({ hair: 'blue', eyes: 'red' }). */
export type TagInput = string | TagAttributes;

/** The dataset's tag text of two colours: "blue hair red eyes" (unchecked; TagVocabulary.format checks). */
export const tagText = (a: { hair: string; eyes: string }): string => `${a.hair} hair ${a.eyes} eyes`;

export interface ParsedTags {
  hair?: string;
  eyes?: string;
  /** What was not understood: "<word> hair" / "<word> eyes" phrases with a colour that is not
   *  valid (or a second, different colour for an attribute already given), and stray words. */
  unknown: string[];
}

/** Tags that cannot be parsed or encoded, or a tag vocabulary file that cannot be read. */
export class TagError extends Error {
  override name = 'TagError';
}

/** A testing_tags.txt with bad lines; `problems` lists every one (1-based line numbers). */
export class TagFileError extends TagError {
  override name = 'TagFileError';
  constructor(readonly problems: { line: number; message: string }[]) {
    const shown = problems.slice(0, 10).map((p) => `  line ${p.line}: ${p.message}`);
    if (problems.length > 10) shown.push(`  … and ${problems.length - 10} more`);
    super(`${problems.length} bad line(s) in the tags file:\n${shown.join('\n')}`);
  }
}

/** Lowercase, trimmed, aliases resolved ("Grey " → "gray"). */
export function canonicalColour(colour: string): string {
  const c = colour.normalize('NFKC').trim().toLowerCase();
  return COLOUR_ALIASES[c] ?? c;
}

const ATTRIBUTE_WORDS: Readonly<Record<string, 'hair' | 'eyes'>> = { hair: 'hair', eyes: 'eyes', eye: 'eyes' };

/**
 * Reads tag text: "<colour> hair" and "<colour> eyes" phrases in either order, separated by spaces,
 * commas or other punctuation, in any case ("Blue Hair,  RED eyes"; "eye" is accepted for "eyes";
 * "grey" and "blond" for "gray" and "blonde"). Never throws on odd text: what it does not
 * understand is returned in `unknown`. The first colour given for an attribute wins.
 * @example parseTags('red eyes, blue hair') // { hair: 'blue', eyes: 'red', unknown: [] }
 */
export function parseTags(text: string, colours: TagColours = KNOWN): ParsedTags {
  if (typeof text !== 'string') throw new TagError(`parseTags() expects a string but received ${typeof text}`);
  const words = tokenize(text);
  const out: ParsedTags = { unknown: [] };
  for (let i = 0; i < words.length; i++) {
    const word = words[i] as string;
    const next = words[i + 1];
    const attr = next === undefined ? undefined : ATTRIBUTE_WORDS[next];
    if (attr === undefined) {
      out.unknown.push(word);
      continue;
    }
    i++;
    const colour = canonicalColour(word);
    const valid = colours[attr].includes(colour);
    if (valid && out[attr] === undefined) out[attr] = colour;
    else if (!valid || out[attr] !== colour) out.unknown.push(`${word} ${next}`);
  }
  return out;
}

/** One line of a testing_tags.txt. */
export interface TagLine {
  id: string;
  hair: string;
  eyes: string;
  /** 1-based line number in the file. */
  line: number;
}

function explainUnknown(phrase: string, colours: TagColours, found: ParsedTags): string {
  const [word = '', attr] = phrase.split(' ');
  const key = attr === undefined ? undefined : ATTRIBUTE_WORDS[attr];
  if (key === undefined) return `unexpected word "${word}"`;
  const colour = canonicalColour(word);
  const what = key === 'hair' ? 'hair' : 'eye';
  if (colours[key].includes(colour)) return `a second ${what} colour "${colour}" (already ${found[key]})`;
  return `unknown ${what} colour "${word}" (valid ${what} colours: ${colours[key].join(', ')})`;
}

/**
 * Parses the assignment's tag file: one `id,<colour> hair <colour> eyes` per line (either order),
 * blank lines skipped, ids unique. Every bad line is reported at once in a TagFileError.
 * @example parseTagsFile(fs.readFileSync('testing_tags.txt', 'utf8'))
 */
export function parseTagsFile(text: string, colours: TagColours = KNOWN): TagLine[] {
  if (typeof text !== 'string') throw new TagError(`parseTagsFile() expects the file's text as a string`);
  const out: TagLine[] = [];
  const problems: { line: number; message: string }[] = [];
  const firstLine = new Map<string, number>();
  text
    .replace(/^\uFEFF/, '')
    .split(/\r\n|\r|\n/)
    .forEach((raw, i) => {
      const line = i + 1;
      if (raw.trim() === '') return;
      const comma = raw.indexOf(',');
      const id = comma < 0 ? '' : raw.slice(0, comma).trim();
      if (id === '') {
        const shown = raw.length > 60 ? `${raw.slice(0, 60)}…` : raw;
        problems.push({
          line,
          message: `expected "id,<colour> hair <colour> eyes" but found ${JSON.stringify(shown)}`,
        });
        return;
      }
      const tags = parseTags(raw.slice(comma + 1), colours);
      const errors = tags.unknown.map((u) => explainUnknown(u, colours, tags));
      if (tags.hair === undefined) errors.push('no hair colour');
      if (tags.eyes === undefined) errors.push('no eye colour');
      const seen = firstLine.get(id);
      if (seen !== undefined) errors.push(`id "${id}" already used on line ${seen}`);
      else firstLine.set(id, line);
      if (errors.length > 0) problems.push({ line, message: `${errors.join('; ')} (id ${id})` });
      else out.push({ id, hair: tags.hair as string, eyes: tags.eyes as string, line });
    });
  if (problems.length > 0) throw new TagFileError(problems);
  return out;
}

const FORMAT = 'creativeai.tag-vocabulary';
/** The version of the JSON format written by TagVocabulary.toJSON()/save(). */
export const TAG_VOCABULARY_VERSION = 1;

export interface TagVocabularyJSON {
  format: typeof FORMAT;
  version: number;
  hair: string[];
  eyes: string[];
}

function checkColours(list: unknown, what: string): string[] {
  if (!Array.isArray(list) || list.length === 0) throw new TagError(`${what} colours must be a non-empty array`);
  const seen = new Set<string>();
  for (const c of list) {
    if (typeof c !== 'string' || canonicalColour(c) !== c || tokenize(c).join(' ') !== c)
      throw new TagError(`${what} colour ${JSON.stringify(c)} is not a single lowercase word`);
    if (seen.has(c)) throw new TagError(`${what} colour "${c}" is listed twice`);
    seen.add(c);
  }
  return [...(list as string[])];
}

/**
 * The hair and eye colours a tag model is conditioned on. Index order is the order of the lists
 * (alphabetical for known() and fromRecords()); save it with the checkpoints.
 */
export class TagVocabulary {
  readonly hair: readonly string[];
  readonly eyes: readonly string[];
  private readonly hairIndex: Map<string, number>;
  private readonly eyesIndex: Map<string, number>;

  constructor(hair: readonly string[], eyes: readonly string[]) {
    this.hair = Object.freeze(checkColours(hair, 'hair'));
    this.eyes = Object.freeze(checkColours(eyes, 'eye'));
    this.hairIndex = new Map(this.hair.map((c, i) => [c, i]));
    this.eyesIndex = new Map(this.eyes.map((c, i) => [c, i]));
  }

  /** The assignment's colours: 12 hair, 11 eye colours (one-hot width 23, 132 combinations). */
  static known(): TagVocabulary {
    return new TagVocabulary(HAIR_COLOURS, EYE_COLOURS);
  }

  /** The colours that occur in records' `attributes.hair` / `attributes.eyes`, alphabetically. */
  static fromRecords(records: Iterable<{ attributes?: { [name: string]: string } }>): TagVocabulary {
    const hair = new Set<string>();
    const eyes = new Set<string>();
    for (const r of records) {
      const a = r.attributes;
      if (a?.hair !== undefined) hair.add(canonicalColour(a.hair));
      if (a?.eyes !== undefined) eyes.add(canonicalColour(a.eyes));
    }
    if (hair.size === 0 || eyes.size === 0)
      throw new TagError(`no records with ${hair.size === 0 ? 'hair' : 'eyes'} attributes to build a tag vocabulary`);
    const sorted = (s: Set<string>) => [...s].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    return new TagVocabulary(sorted(hair), sorted(eyes));
  }

  get nHair(): number {
    return this.hair.length;
  }
  get nEyes(): number {
    return this.eyes.length;
  }
  /** Width of oneHot(): nHair + nEyes. */
  get size(): number {
    return this.nHair + this.nEyes;
  }
  /** Number of hair × eyes combinations (comboIndex() is below it). */
  get comboCount(): number {
    return this.nHair * this.nEyes;
  }

  /** parseTags() with this vocabulary's colours. */
  parse(text: string): ParsedTags {
    return parseTags(text, this);
  }

  /** Index of a hair colour; a TagError naming it and listing the valid ones when unknown. */
  hairId(colour: string): number {
    const i = typeof colour === 'string' ? this.hairIndex.get(canonicalColour(colour)) : undefined;
    if (i === undefined)
      throw new TagError(`unknown hair colour ${JSON.stringify(colour)} (valid hair colours: ${this.hair.join(', ')})`);
    return i;
  }

  /** Index of an eye colour; a TagError naming it and listing the valid ones when unknown. */
  eyesId(colour: string): number {
    const i = typeof colour === 'string' ? this.eyesIndex.get(canonicalColour(colour)) : undefined;
    if (i === undefined)
      throw new TagError(`unknown eye colour ${JSON.stringify(colour)} (valid eye colours: ${this.eyes.join(', ')})`);
    return i;
  }

  /** Both colours, checked: from attributes or tag text (which must have nothing unknown). */
  attributes(input: TagInput): { hair: string; eyes: string } {
    let a: TagAttributes;
    if (typeof input === 'string') {
      const p = this.parse(input);
      if (p.unknown.length > 0)
        throw new TagError(
          `cannot read tags ${JSON.stringify(input)}: ${p.unknown.map((u) => explainUnknown(u, this, p)).join('; ')}`,
        );
      a = p;
    } else if (typeof input === 'object' && input !== null) a = input;
    else
      throw new TagError(`expected tag text or { hair, eyes } but received ${input === null ? 'null' : typeof input}`);
    if (a.hair === undefined) throw new TagError(`no hair colour in ${JSON.stringify(input)}`);
    if (a.eyes === undefined) throw new TagError(`no eye colour in ${JSON.stringify(input)}`);
    return { hair: this.hair[this.hairId(a.hair)] as string, eyes: this.eyes[this.eyesId(a.eyes)] as string };
  }

  /** Hair and eye indices. */
  encode(input: TagInput): { hair: number; eyes: number } {
    const a = this.attributes(input);
    return { hair: this.hairId(a.hair), eyes: this.eyesId(a.eyes) };
  }

  /**
   * The per-attribute one-hot condition of HW3-2: float32 [B, nHair + nEyes], a 1 at the hair index
   * and a 1 at nHair + the eye index of each row. The tensor belongs to the caller.
   */
  oneHot(batch: readonly TagInput[], opts: { device?: Device } = {}): Tensor {
    if (!Array.isArray(batch)) throw new TagError('oneHot() expects an array of tags');
    const width = this.size;
    const data = new Float32Array(batch.length * width);
    batch.forEach((input, b) => {
      const e = this.encode(input);
      data[b * width + e.hair] = 1;
      data[b * width + this.nHair + e.eyes] = 1;
    });
    return tensor(data, { shape: [batch.length, width], device: opts.device ?? 'cpu' });
  }

  /** The combination id hair × nEyes + eyes, in [0, comboCount). */
  comboIndex(input: TagInput): number {
    const e = this.encode(input);
    return e.hair * this.nEyes + e.eyes;
  }

  /** The colours of a combination id (inverse of comboIndex()). */
  combo(index: number): { hair: string; eyes: string } {
    if (!Number.isInteger(index) || index < 0 || index >= this.comboCount)
      throw new RangeError(`combination index ${index} is outside [0, ${this.comboCount})`);
    return { hair: this.hair[Math.floor(index / this.nEyes)] as string, eyes: this.eyes[index % this.nEyes] as string };
  }

  /** Tag text of the dataset's form: "blue hair red eyes". */
  format(input: TagInput): string {
    return tagText(this.attributes(input));
  }

  toJSON(): TagVocabularyJSON {
    return { format: FORMAT, version: TAG_VOCABULARY_VERSION, hair: [...this.hair], eyes: [...this.eyes] };
  }

  static fromJSON(json: unknown): TagVocabulary {
    if (typeof json !== 'object' || json === null || Array.isArray(json))
      throw new TagError('not a tag vocabulary: expected a JSON object');
    const o = json as Partial<Record<keyof TagVocabularyJSON, unknown>>;
    if (o.format !== FORMAT)
      throw new TagError(`not a tag vocabulary: format is ${JSON.stringify(o.format)}, expected "${FORMAT}"`);
    if (o.version !== TAG_VOCABULARY_VERSION)
      throw new TagError(
        `unsupported tag vocabulary version ${JSON.stringify(o.version)}: this build reads version ${TAG_VOCABULARY_VERSION}`,
      );
    try {
      return new TagVocabulary(checkColours(o.hair, 'hair'), checkColours(o.eyes, 'eye'));
    } catch (e) {
      throw new TagError(`corrupt tag vocabulary: ${(e as Error).message}`);
    }
  }

  /** Writes the tag vocabulary as JSON (atomically). */
  save(file: string): void {
    saveJsonFile(file, this.toJSON());
  }

  /** Reads a file written by save(); errors name the file and what is wrong with it. */
  static load(file: string): TagVocabulary {
    return loadJsonFile(
      file,
      'tag vocabulary',
      (json) => TagVocabulary.fromJSON(json),
      (m) => new TagError(m),
    );
  }
}
