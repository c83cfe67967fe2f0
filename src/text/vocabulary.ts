// The word vocabulary of a caption dataset: built once from the training captions, saved beside the
// model checkpoints, and used to turn captions into padded id batches for the text encoder.
//
// Conventions the models rely on:
//   - id 0 is <pad> (the Embedding's paddingIdx) and id 1 is <unk>; words follow from id 2.
//     There is no <end> token: like AttnGAN (whose id 0 "<end>" is only ever padding), the LSTM gets
//     each caption's length and never needs an end marker.
//   - word order: count descending, then by code point (a deterministic, locale-independent order).
//   - a caption longer than maxLength (18 words, AttnGAN's WORDS_NUM) keeps its first maxLength
//     words. AttnGAN instead keeps a random subset of the words in order; we truncate
//     deterministically so that the same caption always encodes the same way.
//   - an empty caption (or one without any word) encodes as a single <unk> with length 1: the LSTM
//     needs length ≥ 1, and word attention masks the <pad> positions, so a caption of only <pad>
//     would leave nothing to attend to.
import { Tensor, isFloating, tensor, tidy, type Device } from '../engine/index.js';
import { loadJsonFile, saveJsonFile } from './json-file.js';
import { TOKENIZER_ID, tokenize } from './tokenizer.js';

export const PAD = '<pad>';
export const UNK = '<unk>';
export const PAD_ID = 0;
export const UNK_ID = 1;
/** The special tokens, in id order. */
export const SPECIAL_TOKENS: readonly string[] = [PAD, UNK];
/** AttnGAN's maximum caption length in words (cfg.TEXT.WORDS_NUM). */
export const DEFAULT_MAX_LENGTH = 18;

const FORMAT = 'creativeai.vocabulary';
/** The version of the JSON format written by toJSON()/save(). */
export const VOCABULARY_VERSION = 1;

/** A vocabulary file or object that cannot be read, or a call with invalid arguments. */
export class VocabularyError extends Error {
  override name = 'VocabularyError';
}

export interface VocabularyBuildOptions {
  /** Words seen fewer times than this become <unk> (default 1: keep every word). */
  minCount?: number;
  /** The largest vocabulary size, special tokens included (= rows of the embedding table). */
  maxSize?: number;
}

export interface EncodeOptions {
  /** Words kept per caption, the first ones (default 18); Infinity keeps them all. */
  maxLength?: number;
}

export interface EncodeBatchOptions extends EncodeOptions {
  /** Pad to at least this many columns (e.g. 18 for fixed shapes); default: the longest caption. */
  padTo?: number;
  /** Where the id and length tensors go (default 'cpu'). */
  device?: Device;
}

export interface EncodedCaption {
  /** Word ids, `length` of them (no padding). */
  ids: number[];
  /** Number of ids, ≥ 1. */
  length: number;
  /** The words of the kept part that are not in the vocabulary (encoded as <unk>), once each, in order. */
  unknown: string[];
  /** How many words were dropped from the end because the caption was longer than maxLength. */
  truncated: number;
}

export interface EncodedBatch {
  /** int64 [B, L]: word ids, padded with 0 (<pad>) after each caption's length. */
  ids: Tensor;
  /** int64 [B]: each caption's length (≥ 1). */
  lengths: Tensor;
  /** Per caption, the unknown words (see EncodedCaption.unknown). */
  unknown: string[][];
}

/** The JSON form written by toJSON() and save(). */
export interface VocabularyJSON {
  format: typeof FORMAT;
  version: number;
  tokenizer: string;
  /** All tokens in id order, the special tokens first. */
  tokens: string[];
  /** Training-set count of each token (0 for the special tokens). */
  counts: number[];
}

function checkMaxLength(maxLength: number): number {
  if (maxLength !== Infinity && (!Number.isInteger(maxLength) || maxLength < 1))
    throw new VocabularyError(`maxLength must be a positive integer or Infinity, got ${String(maxLength)}`);
  return maxLength;
}

/** Code-point order, the same everywhere (localeCompare depends on the ICU data and locale). */
function byCodePoint(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export class Vocabulary {
  /** All tokens in id order: <pad>, <unk>, then the words. */
  readonly tokens: readonly string[];
  private readonly counts: readonly number[];
  private readonly index: Map<string, number>;

  private constructor(tokens: string[], counts: number[]) {
    this.tokens = Object.freeze(tokens);
    this.counts = Object.freeze(counts);
    this.index = new Map(tokens.map((t, i) => [t, i]));
  }

  /**
   * Counts the words of the captions (tokenize()) and keeps those seen at least minCount times, the
   * most frequent first (ties in code-point order), at most maxSize tokens in all.
   * @example const vocab = Vocabulary.build(train.flatMap((r) => r.captions), { minCount: 2 });
   */
  static build(captions: Iterable<string>, opts: VocabularyBuildOptions = {}): Vocabulary {
    const minCount = opts.minCount ?? 1;
    if (!Number.isInteger(minCount) || minCount < 1)
      throw new VocabularyError(`minCount must be a positive integer, got ${String(minCount)}`);
    const maxSize = opts.maxSize ?? Infinity;
    if (maxSize !== Infinity && (!Number.isInteger(maxSize) || maxSize < SPECIAL_TOKENS.length))
      throw new VocabularyError(
        `maxSize must be an integer ≥ ${SPECIAL_TOKENS.length} (it includes ${SPECIAL_TOKENS.join(' and ')}), got ${String(maxSize)}`,
      );
    if (captions === null || typeof (captions as Partial<Iterable<string>>)[Symbol.iterator] !== 'function')
      throw new VocabularyError('Vocabulary.build() expects an iterable of caption strings');
    const counts = new Map<string, number>();
    for (const caption of captions) for (const w of tokenize(caption)) counts.set(w, (counts.get(w) ?? 0) + 1);
    const words = [...counts]
      .filter(([, n]) => n >= minCount)
      .sort((a, b) => b[1] - a[1] || byCodePoint(a[0], b[0]))
      .slice(0, maxSize - SPECIAL_TOKENS.length);
    return new Vocabulary(
      [...SPECIAL_TOKENS, ...words.map(([w]) => w)],
      [...SPECIAL_TOKENS.map(() => 0), ...words.map(([, n]) => n)],
    );
  }

  /** Number of tokens, special tokens included (the embedding table's row count). */
  get size(): number {
    return this.tokens.length;
  }

  /** Whether a word (already tokenized) has its own id. */
  has(word: string): boolean {
    return this.index.has(word);
  }

  /** The id of a word (already tokenized); <unk>'s id when absent. */
  idOf(word: string): number {
    return this.index.get(word) ?? UNK_ID;
  }

  /** The token with this id. */
  tokenOf(id: number): string {
    const t = Number.isInteger(id) ? this.tokens[id] : undefined;
    if (t === undefined) throw new RangeError(`token id ${String(id)} is outside the vocabulary of ${this.size}`);
    return t;
  }

  /** How often a word occurred in the training captions (0 when absent or special). */
  count(word: string): number {
    const i = this.index.get(word);
    return i === undefined ? 0 : (this.counts[i] ?? 0);
  }

  /**
   * One caption to ids: tokenize(), look every word up (<unk> when absent), keep the first
   * maxLength words. An empty caption becomes [<unk>] with length 1.
   */
  encode(caption: string, opts: EncodeOptions = {}): EncodedCaption {
    const maxLength = checkMaxLength(opts.maxLength ?? DEFAULT_MAX_LENGTH);
    const words = tokenize(caption);
    const kept = words.length > maxLength ? words.slice(0, maxLength) : words;
    const ids: number[] = [];
    const unknown = new Set<string>();
    for (const w of kept) {
      const id = this.index.get(w);
      if (id === undefined) unknown.add(w);
      ids.push(id ?? UNK_ID);
    }
    if (ids.length === 0) ids.push(UNK_ID);
    return { ids, length: ids.length, unknown: [...unknown], truncated: words.length - kept.length };
  }

  /**
   * Captions to a padded batch: ids int64 [B, L] (0 = <pad> after each caption) and lengths int64
   * [B], where L is the longest length in the batch (at least padTo). The captions keep their order
   * (not sorted by length). Both tensors belong to the caller (dispose them, or call inside tidy()).
   */
  encodeBatch(captions: readonly string[], opts: EncodeBatchOptions = {}): EncodedBatch {
    if (!Array.isArray(captions)) throw new VocabularyError('encodeBatch() expects an array of caption strings');
    if (captions.length === 0) throw new VocabularyError('encodeBatch() needs at least one caption');
    const padTo = opts.padTo ?? 1;
    if (!Number.isInteger(padTo) || padTo < 1)
      throw new VocabularyError(`padTo must be a positive integer, got ${String(padTo)}`);
    const encoded = captions.map((c) => this.encode(c, opts));
    const width = encoded.reduce((w, e) => Math.max(w, e.length), padTo);
    const ids = new BigInt64Array(captions.length * width); // zero-filled: <pad>
    const lengths = new BigInt64Array(captions.length);
    encoded.forEach((e, b) => {
      lengths[b] = BigInt(e.length);
      e.ids.forEach((id, j) => (ids[b * width + j] = BigInt(id)));
    });
    const device = opts.device ?? 'cpu';
    const tensors = tidy(() => ({
      ids: tensor(ids, { shape: [captions.length, width], device }),
      lengths: tensor(lengths, { device }),
    }));
    return { ...tensors, unknown: encoded.map((e) => e.unknown) };
  }

  /** Ids back to tokens, skipping <pad> (<unk> stays "<unk>"). Accepts a 1-d integer tensor too. */
  decodeTokens(ids: Iterable<number | bigint> | Tensor): string[] {
    let values: Iterable<number | bigint>;
    if (ids instanceof Tensor) {
      if (ids.rank !== 1)
        throw new VocabularyError(`decode() expects a 1-d tensor of ids, got [${ids.shape.join(', ')}]`);
      if (ids.dtype === 'bool' || isFloating(ids.dtype))
        throw new VocabularyError(`decode() expects an integer tensor of ids, got ${ids.dtype}`);
      values = ids.toTypedArray() as Iterable<number | bigint>;
    } else values = ids;
    const out: string[] = [];
    for (const v of values) {
      const id = Number(v);
      if (id !== PAD_ID) out.push(this.tokenOf(id));
    }
    return out;
  }

  /** Ids back to text: the tokens joined by spaces, <pad> skipped. */
  decode(ids: Iterable<number | bigint> | Tensor): string {
    return this.decodeTokens(ids).join(' ');
  }

  toJSON(): VocabularyJSON {
    return {
      format: FORMAT,
      version: VOCABULARY_VERSION,
      tokenizer: TOKENIZER_ID,
      tokens: [...this.tokens],
      counts: [...this.counts],
    };
  }

  /** A vocabulary from toJSON()'s object, checked: format, version, tokenizer, special tokens, duplicates. */
  static fromJSON(json: unknown): Vocabulary {
    if (typeof json !== 'object' || json === null || Array.isArray(json))
      throw new VocabularyError('not a vocabulary: expected a JSON object');
    const o = json as Partial<Record<keyof VocabularyJSON, unknown>>;
    if (o.format !== FORMAT)
      throw new VocabularyError(`not a vocabulary: format is ${JSON.stringify(o.format)}, expected "${FORMAT}"`);
    if (o.version !== VOCABULARY_VERSION)
      throw new VocabularyError(
        `unsupported vocabulary version ${JSON.stringify(o.version)}: this build reads version ${VOCABULARY_VERSION}`,
      );
    if (o.tokenizer !== TOKENIZER_ID)
      throw new VocabularyError(
        `vocabulary was built with tokenizer ${JSON.stringify(o.tokenizer)} but this build tokenizes with "${TOKENIZER_ID}"`,
      );
    const tokens = o.tokens;
    if (!Array.isArray(tokens) || !tokens.every((t) => typeof t === 'string' && t.length > 0))
      throw new VocabularyError('corrupt vocabulary: "tokens" must be an array of non-empty strings');
    SPECIAL_TOKENS.forEach((s, i) => {
      if (tokens[i] !== s)
        throw new VocabularyError(`corrupt vocabulary: token ${i} must be ${s}, found ${JSON.stringify(tokens[i])}`);
    });
    const seen = new Set<string>();
    for (const t of tokens as string[]) {
      if (seen.has(t)) throw new VocabularyError(`corrupt vocabulary: token ${JSON.stringify(t)} appears twice`);
      seen.add(t);
    }
    const counts = o.counts;
    if (
      !Array.isArray(counts) ||
      counts.length !== tokens.length ||
      !counts.every((n) => Number.isInteger(n) && (n as number) >= 0)
    )
      throw new VocabularyError(
        `corrupt vocabulary: "counts" must be ${tokens.length} non-negative integers, one per token`,
      );
    return new Vocabulary([...(tokens as string[])], [...(counts as number[])]);
  }

  /** Writes the vocabulary as JSON (atomically: readers see the old file or the new one). */
  save(file: string): void {
    saveJsonFile(file, this.toJSON());
  }

  /** Reads a file written by save(); errors name the file and what is wrong with it. */
  static load(file: string): Vocabulary {
    return loadJsonFile(
      file,
      'vocabulary',
      (json) => Vocabulary.fromJSON(json),
      (m) => new VocabularyError(m),
    );
  }
}
