// safetensors (https://github.com/huggingface/safetensors): an 8-byte little-endian header size N,
// N bytes of JSON header padded with spaces to a multiple of 8, then the raw tensor bytes.
// Files written here are byte-identical to the reference serializer's (safetensors/src/tensor.rs,
// `prepare` and `serialize`): tensors ordered by descending dtype alignment, then by name (as UTF-8
// bytes); __metadata__ first in the header; compact JSON; data laid out in header order.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';

import { Tensor, deviceCode, dtypeCode, native, type Device, type DType } from '../engine/internal.js';
import type { LoadResult, Module } from '../nn/module.js';
import type { OptimizerState } from '../optim/optimizer.js';
import { writeFileAtomicSync } from '../util/atomic-write.js';

/** A malformed or unsupported safetensors file, or tensors that cannot be written as one. */
export class SafetensorsError extends Error {
  override name = 'SafetensorsError';
}

/** The reference reader refuses headers larger than this (MAX_HEADER_SIZE in tensor.rs). */
export const MAX_HEADER_SIZE = 100_000_000;

/** safetensors dtype name for each engine dtype, with its element size in bytes. */
const ST_OF: Record<DType, string> = {
  float64: 'F64',
  float32: 'F32',
  float16: 'F16',
  bfloat16: 'BF16',
  int64: 'I64',
  int32: 'I32',
  int16: 'I16',
  int8: 'I8',
  uint8: 'U8',
  bool: 'BOOL',
};
const DTYPE_OF = new Map<string, DType>(Object.entries(ST_OF).map(([k, v]) => [v, k as DType]));
const ELEMENT_SIZE: Record<DType, number> = {
  float64: 8,
  float32: 4,
  float16: 2,
  bfloat16: 2,
  int64: 8,
  int32: 4,
  int16: 2,
  int8: 1,
  uint8: 1,
  bool: 1,
};
/**
 * The reference's Dtype enum order (declared "in increasing alignment order"), which the
 * serializer sorts by, descending. Only the relative order of the dtypes we support matters.
 */
const RANK: Record<DType, number> = {
  bool: 0,
  uint8: 1,
  int8: 2,
  int16: 3,
  float16: 4,
  bfloat16: 5,
  int32: 6,
  float32: 7,
  float64: 8,
  int64: 9,
};
/** Valid safetensors dtypes that the engine has no counterpart for. */
const KNOWN_UNSUPPORTED = new Set([
  'U16',
  'U32',
  'U64',
  'F4',
  'F6_E2M3',
  'F6_E3M2',
  'F8_E5M2',
  'F8_E4M3',
  'F8_E8M0',
  'F8_E4M3FNUZ',
  'F8_E5M2FNUZ',
  'C64',
]);

export type TensorDict = Map<string, Tensor> | Record<string, Tensor>;

export interface DecodeOptions {
  /** Where the tensors are created (default 'cpu'). */
  device?: Device;
}

export interface Decoded {
  /** The tensors in file (data offset) order; the caller owns and must dispose them. */
  tensors: Map<string, Tensor>;
  /** The __metadata__ strings ({} when the file has none). */
  metadata: Record<string, string>;
}

/** One tensor's entry in a parsed header. */
interface Entry {
  name: string;
  dtype: DType;
  shape: number[];
  begin: number;
  end: number;
}

function checkLittleEndian(): void {
  if (os.endianness() !== 'LE') throw new SafetensorsError('safetensors I/O needs a little-endian host');
}

function entriesOf(tensors: TensorDict): [string, Tensor][] {
  if (tensors instanceof Map) return [...tensors];
  if (typeof tensors !== 'object' || tensors === null)
    throw new TypeError(
      `Expected a Map or object of tensors but received ${tensors === null ? 'null' : typeof tensors}`,
    );
  return Object.entries(tensors);
}

function checkMetadata(metadata: Record<string, string>): void {
  if (typeof metadata !== 'object' || metadata === null || Array.isArray(metadata))
    throw new TypeError(`Expected metadata to be an object of strings but received ${JSON.stringify(metadata)}`);
  for (const [k, v] of Object.entries(metadata))
    if (typeof v !== 'string')
      throw new TypeError(`Expected metadata value '${k}' to be a string but received ${typeof v}`);
}

/** Rust's `String` ordering: lexicographic over the UTF-8 bytes. */
function compareUtf8(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

/** The header bytes and the tensors in data order, as the reference's `prepare` lays them out. */
function prepare(
  tensors: TensorDict,
  metadata: Record<string, string> | undefined,
): { header: Buffer; order: [string, Tensor][]; dataBytes: number } {
  checkLittleEndian();
  const items = entriesOf(tensors);
  for (const [name, t] of items) {
    if (!(t instanceof Tensor))
      throw new TypeError(`Expected tensor '${name}' to be a Tensor but received ${t === null ? 'null' : typeof t}`);
    if (t.disposed) throw new TypeError(`Tensor '${name}' was disposed before it could be saved`);
    if (name === '__metadata__') throw new SafetensorsError(`'__metadata__' is reserved and cannot name a tensor`);
  }
  if (metadata !== undefined) checkMetadata(metadata);
  const info = items.map(([name, t]) => ({ name, t, dtype: t.dtype, shape: t.shape }));
  info.sort((a, b) => RANK[b.dtype] - RANK[a.dtype] || compareUtf8(a.name, b.name));

  // The header is compact JSON: __metadata__ (when given) first, then each tensor in data order
  // with its fields in the reference's order. JSON.stringify escapes strings as serde_json does.
  // (Built by hand: a JavaScript object would move integer-like names such as "0" to the front.)
  const parts: string[] = [];
  if (metadata !== undefined) {
    // The reference keeps metadata in a HashMap, whose order is unspecified; sorted keys make
    // our output deterministic and identical to it whenever there is at most one key.
    const keys = Object.keys(metadata).sort(compareUtf8);
    parts.push(`"__metadata__":{${keys.map((k) => `${JSON.stringify(k)}:${JSON.stringify(metadata[k])}`).join(',')}}`);
  }
  let offset = 0;
  for (const { name, dtype, shape } of info) {
    const n = shape.reduce((a, b) => a * b, 1) * ELEMENT_SIZE[dtype];
    parts.push(
      `${JSON.stringify(name)}:{"dtype":"${ST_OF[dtype]}","shape":[${shape.join(',')}],"data_offsets":[${offset},${offset + n}]}`,
    );
    offset += n;
  }
  const raw = Buffer.from(`{${parts.join(',')}}`, 'utf8');
  const header = Buffer.alloc(Math.ceil(raw.length / 8) * 8, 0x20); // padded with spaces
  raw.copy(header);
  return { header, order: info.map(({ name, t }): [string, Tensor] => [name, t]), dataBytes: offset };
}

function sizePrefix(headerLength: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(BigInt(headerLength));
  return b;
}

/** The bytes of one tensor, row-major (copied to the CPU when it lives elsewhere). */
function tensorBytes(t: Tensor): Uint8Array {
  return new Uint8Array(native.toBuffer(t.handle));
}

/**
 * Serialises tensors (and optional string metadata) to safetensors bytes, byte-identical to the
 * reference implementation. The tensors are only read, never disposed.
 * @example fs.writeFileSync('g.safetensors', encodeSafetensors(G.stateDict(), { epoch: '3' }))
 */
export function encodeSafetensors(tensors: TensorDict, metadata?: Record<string, string>): Buffer {
  const { header, order, dataBytes } = prepare(tensors, metadata);
  const out = Buffer.allocUnsafe(8 + header.length + dataBytes);
  sizePrefix(header.length).copy(out, 0);
  header.copy(out, 8);
  let pos = 8 + header.length;
  for (const [name, t] of order) {
    const bytes = tensorBytes(t);
    const want = t.numel * ELEMENT_SIZE[t.dtype];
    if (bytes.length !== want)
      throw new SafetensorsError(`Tensor '${name}' gave ${bytes.length} bytes, expected ${want}`);
    out.set(bytes, pos);
    pos += bytes.length;
  }
  return out;
}

// ---- reading ---------------------------------------------------------------------------------

function fail(msg: string): never {
  throw new SafetensorsError(msg);
}

/** obj[key] = value, as an own property even for '__proto__' (which JSON.parse can produce). */
function setOwn<T>(obj: Record<string, T>, key: string, value: T): void {
  Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function checkIndex(v: unknown, what: string): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0)
    fail(`${what} must be a non-negative integer but is ${JSON.stringify(v)}`);
  return v;
}

/** Reads the 8-byte size prefix; `fileSize` is the whole file's length. */
function headerLength(prefix: Uint8Array, fileSize: number): number {
  if (fileSize < 8 || prefix.length < 8)
    fail(`File is truncated: ${fileSize} bytes, but a safetensors file starts with an 8-byte header size`);
  const n = Buffer.from(prefix.buffer, prefix.byteOffset, 8).readBigUInt64LE(0);
  if (n > BigInt(MAX_HEADER_SIZE)) {
    if (n > BigInt(fileSize - 8)) fail(`Header size ${n} is larger than the file (${fileSize} bytes)`);
    fail(`Header size ${n} exceeds the ${MAX_HEADER_SIZE}-byte limit`);
  }
  const len = Number(n);
  if (len > fileSize - 8)
    fail(`Header size ${len} is larger than the file (${fileSize} bytes): the file is truncated or not safetensors`);
  return len;
}

/** Parses and validates a header; `dataLength` is the number of bytes after it. */
function parseHeader(bytes: Uint8Array, dataLength: number): { entries: Entry[]; metadata: Record<string, string> } {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch {
    fail('Header is not valid UTF-8');
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    fail(`Header is not valid JSON: ${(e as Error).message}`);
  }
  if (!isPlainObject(json))
    fail(`Header must be a JSON object but is ${Array.isArray(json) ? 'an array' : typeof json}`);

  const metadata: Record<string, string> = {};
  const entries: Entry[] = [];
  for (const [name, v] of Object.entries(json)) {
    if (name === '__metadata__') {
      if (!isPlainObject(v)) fail(`__metadata__ must be an object of strings but is ${JSON.stringify(v)}`);
      for (const [k, s] of Object.entries(v)) {
        if (typeof s !== 'string') fail(`__metadata__ value '${k}' must be a string but is ${JSON.stringify(s)}`);
        setOwn(metadata, k, s);
      }
      continue;
    }
    if (!isPlainObject(v)) fail(`Header entry '${name}' must be an object but is ${JSON.stringify(v)}`);
    const { dtype: st, shape, data_offsets: offs } = v;
    if (typeof st !== 'string') fail(`Tensor '${name}' has no dtype string (got ${JSON.stringify(st)})`);
    const dtype = DTYPE_OF.get(st);
    if (dtype === undefined) {
      if (KNOWN_UNSUPPORTED.has(st))
        fail(
          `Tensor '${name}' has dtype ${st}, which the engine does not support (supported: ${[...DTYPE_OF.keys()].join(', ')})`,
        );
      fail(
        `Tensor '${name}' has unknown dtype ${JSON.stringify(st)} (expected one of ${[...DTYPE_OF.keys()].join(', ')})`,
      );
    }
    if (!Array.isArray(shape)) fail(`Tensor '${name}' shape must be an array but is ${JSON.stringify(shape)}`);
    shape.forEach((s, i) => checkIndex(s, `Tensor '${name}' shape[${i}]`));
    if (!Array.isArray(offs) || offs.length !== 2)
      fail(`Tensor '${name}' data_offsets must be [begin, end] but is ${JSON.stringify(offs)}`);
    const begin = checkIndex(offs[0], `Tensor '${name}' data_offsets[0]`);
    const end = checkIndex(offs[1], `Tensor '${name}' data_offsets[1]`);
    if (end < begin) fail(`Tensor '${name}' data_offsets [${begin}, ${end}] end before they begin`);
    entries.push({ name, dtype, shape: shape as number[], begin, end });
  }

  // As the reference does: order by offsets, then the data must be covered exactly, in sequence.
  entries.sort((a, b) => a.begin - b.begin || a.end - b.end);
  let expected = 0;
  let prev: Entry | undefined;
  for (const e of entries) {
    const at = `Tensor '${e.name}' data_offsets [${e.begin}, ${e.end}]`;
    if (e.end > dataLength)
      fail(
        `${at} run past the end of the data (${dataLength} bytes): the file is truncated or the offsets are out of range`,
      );
    if (e.begin < expected)
      fail(`${at} overlap the previous tensor '${prev?.name ?? ''}' [${prev?.begin ?? 0}, ${prev?.end ?? 0}]`);
    if (e.begin > expected)
      fail(
        `${at} are not contiguous: expected the data to begin at ${expected}` +
          (prev === undefined ? '' : ` where '${prev.name}' ends`),
      );
    let numel = 1;
    for (const s of e.shape) numel *= s;
    const need = numel * ELEMENT_SIZE[e.dtype];
    if (!Number.isSafeInteger(need)) fail(`Tensor '${e.name}' shape [${e.shape.join(', ')}] is too large`);
    if (need !== e.end - e.begin)
      fail(
        `Tensor '${e.name}' shape [${e.shape.join(', ')}] with dtype ${ST_OF[e.dtype]} needs ${need} bytes, ` +
          `but its data_offsets span ${e.end - e.begin}`,
      );
    expected = e.end;
    prev = e;
  }
  if (expected !== dataLength)
    fail(`The tensors cover ${expected} bytes of data but the file holds ${dataLength}: trailing or missing bytes`);
  return { entries, metadata };
}

function makeTensor(e: Entry, bytes: Uint8Array, device: number): Tensor {
  if (e.dtype === 'bool')
    for (let i = 0; i < bytes.length; i++)
      if ((bytes[i] as number) > 1)
        fail(`Tensor '${e.name}' (BOOL) holds byte ${bytes[i]} at element ${i}; expected 0 or 1`);
  return new Tensor(native.fromBuffer(bytes, e.shape, dtypeCode(e.dtype), device));
}

function buildTensors(entries: Entry[], read: (e: Entry) => Uint8Array, opts: DecodeOptions): Map<string, Tensor> {
  const device = deviceCode(opts.device ?? 'cpu');
  const out = new Map<string, Tensor>();
  try {
    for (const e of entries) out.set(e.name, makeTensor(e, read(e), device));
  } catch (err) {
    for (const t of out.values()) t.dispose();
    throw err;
  }
  return out;
}

/**
 * Parses safetensors bytes into new tensors (which the caller must dispose) and the metadata.
 * Throws a SafetensorsError naming the problem for malformed input.
 */
export function decodeSafetensors(buf: Uint8Array, opts: DecodeOptions = {}): Decoded {
  checkLittleEndian();
  if (!(buf instanceof Uint8Array))
    throw new TypeError(`Expected a Buffer or Uint8Array but received ${buf === null ? 'null' : typeof buf}`);
  const n = headerLength(buf, buf.length);
  const dataStart = 8 + n;
  const { entries, metadata } = parseHeader(buf.subarray(8, dataStart), buf.length - dataStart);
  const tensors = buildTensors(entries, (e) => buf.subarray(dataStart + e.begin, dataStart + e.end), opts);
  return { tensors, metadata };
}

// ---- files -----------------------------------------------------------------------------------

/**
 * Saves tensors to a .safetensors file atomically (byte-identical to the reference library's
 * output). Tensors are copied out one at a time, so memory use stays near the largest tensor.
 */
export function saveSafetensors(file: string, tensors: TensorDict, metadata?: Record<string, string>): void {
  const { header, order } = prepare(tensors, metadata);
  function* chunks(): Generator<Uint8Array> {
    yield sizePrefix(header.length);
    yield header;
    for (const [, t] of order) yield tensorBytes(t);
  }
  writeFileAtomicSync(file, chunks());
}

function readExactly(fd: number, length: number, position: number, file: string): Buffer {
  const out = Buffer.allocUnsafe(length);
  let got = 0;
  while (got < length) {
    const n = fs.readSync(fd, out, got, length - got, position + got);
    if (n === 0) fail(`${file}: unexpected end of file after ${position + got} bytes`);
    got += n;
  }
  return out;
}

/**
 * Loads a .safetensors file: new tensors (the caller disposes them) and the metadata. Reads one
 * tensor at a time, so files larger than a single Buffer can hold still load.
 */
export function loadSafetensors(file: string, opts: DecodeOptions = {}): Decoded {
  checkLittleEndian();
  const fd = fs.openSync(file, 'r');
  try {
    const size = fs.fstatSync(fd).size;
    const n = headerLength(size >= 8 ? readExactly(fd, 8, 0, file) : new Uint8Array(0), size);
    const dataStart = 8 + n;
    const { entries, metadata } = parseHeader(readExactly(fd, n, 8, file), size - dataStart);
    const tensors = buildTensors(entries, (e) => readExactly(fd, e.end - e.begin, dataStart + e.begin, file), opts);
    return { tensors, metadata };
  } catch (e) {
    if (e instanceof SafetensorsError && !e.message.startsWith(`${file}: `)) e.message = `${file}: ${e.message}`;
    throw e;
  } finally {
    fs.closeSync(fd);
  }
}

/** The metadata key under which a file records tensorsDigest() of itself (exported models). */
export const TENSORS_DIGEST_KEY = 'tensors_sha256';

/**
 * SHA-256 over a file's tensors as stored: for each tensor in name order, its UTF-8 name, a NUL
 * byte, then its bytes. It does not depend on the header's layout or metadata, so a file can
 * record it in its own metadata (TENSORS_DIGEST_KEY) and be checked against it later.
 */
export function tensorsDigest(file: string): string {
  const fd = fs.openSync(file, 'r');
  try {
    const size = fs.fstatSync(fd).size;
    const n = headerLength(size >= 8 ? readExactly(fd, 8, 0, file) : new Uint8Array(0), size);
    const dataStart = 8 + n;
    const { entries } = parseHeader(readExactly(fd, n, 8, file), size - dataStart);
    const h = createHash('sha256');
    for (const e of [...entries].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
      h.update(Buffer.from(e.name, 'utf8'));
      h.update(Buffer.from([0]));
      // In slices: a large tensor need not be read into memory at once.
      for (let at = e.begin; at < e.end; at += 1 << 24) {
        const len = Math.min(1 << 24, e.end - at);
        h.update(readExactly(fd, len, dataStart + at, file));
      }
    }
    return h.digest('hex');
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Whether the tensors of `file` are those its metadata's TENSORS_DIGEST_KEY records: 'ok',
 * 'mismatch' (a changed or damaged file), or 'absent' (the file records none).
 */
export function checkTensorsDigest(file: string): 'ok' | 'mismatch' | 'absent' {
  const recorded = readSafetensorsHeader(file).metadata[TENSORS_DIGEST_KEY];
  if (recorded === undefined) return 'absent';
  return tensorsDigest(file) === recorded ? 'ok' : 'mismatch';
}

/** What a .safetensors file holds, read from its header alone (no tensor data is read). */
export interface SafetensorsHeader {
  metadata: Record<string, string>;
  tensors: { name: string; dtype: DType; shape: number[]; bytes: number }[];
}

/** Reads and validates only the header: cheap enough to list many model files. */
export function readSafetensorsHeader(file: string): SafetensorsHeader {
  const fd = fs.openSync(file, 'r');
  try {
    const size = fs.fstatSync(fd).size;
    const n = headerLength(size >= 8 ? readExactly(fd, 8, 0, file) : new Uint8Array(0), size);
    const { entries, metadata } = parseHeader(readExactly(fd, n, 8, file), size - 8 - n);
    return {
      metadata,
      tensors: entries.map((e) => ({ name: e.name, dtype: e.dtype, shape: e.shape, bytes: e.end - e.begin })),
    };
  } catch (e) {
    if (e instanceof SafetensorsError && !e.message.startsWith(`${file}: `)) e.message = `${file}: ${e.message}`;
    throw e;
  } finally {
    fs.closeSync(fd);
  }
}

// ---- optimizer and module checkpoints --------------------------------------------------------

const FORMAT_KEY = 'format';
const OPTIMIZER_FORMAT = 'creativeai.optimizer.v1';
const SCALARS_KEY = 'scalars';

/** JSON cannot hold Infinity or NaN; they travel as strings. */
function scalarsToJson(scalars: Record<string, number>): string {
  const out: Record<string, number | string> = {};
  for (const [k, v] of Object.entries(scalars)) {
    if (typeof v !== 'number')
      throw new TypeError(`Expected optimizer scalar '${k}' to be a number but received ${typeof v}`);
    setOwn(out, k, Number.isFinite(v) ? v : String(v));
  }
  return JSON.stringify(out);
}

function scalarsFromJson(text: string, file: string): Record<string, number> {
  let obj: unknown;
  try {
    obj = JSON.parse(text);
  } catch (e) {
    fail(`${file}: optimizer scalars are not valid JSON: ${(e as Error).message}`);
  }
  if (!isPlainObject(obj)) fail(`${file}: optimizer scalars must be a JSON object`);
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(obj)) {
    if (typeof v === 'number') setOwn(out, k, v);
    else if (v === 'Infinity' || v === '-Infinity' || v === 'NaN') setOwn(out, k, Number(v));
    else fail(`${file}: optimizer scalar '${k}' must be a number but is ${JSON.stringify(v)}`);
  }
  return out;
}

/**
 * Saves Optimizer.stateDict() output: the state tensors as safetensors, the scalars (step count,
 * learning rate, hyper-parameters) as JSON in __metadata__.
 */
export function saveOptimizerState(file: string, state: OptimizerState): void {
  if (!isPlainObject(state) || !isPlainObject(state.scalars) || !(state.tensors instanceof Map))
    throw new TypeError('Expected an optimizer state { scalars, tensors } as returned by Optimizer.stateDict()');
  saveSafetensors(file, state.tensors, { [FORMAT_KEY]: OPTIMIZER_FORMAT, [SCALARS_KEY]: scalarsToJson(state.scalars) });
}

/**
 * Loads what saveOptimizerState wrote. Optimizer.loadStateDict copies the tensors, so dispose
 * them afterwards: `const s = loadOptimizerState(p); opt.loadStateDict(s); s.tensors.forEach(t => t.dispose())`.
 */
export function loadOptimizerState(file: string, opts: DecodeOptions = {}): OptimizerState {
  const { tensors, metadata } = loadSafetensors(file, opts);
  try {
    if (metadata[FORMAT_KEY] !== OPTIMIZER_FORMAT)
      fail(
        `${file}: not an optimizer state (metadata format is ${JSON.stringify(metadata[FORMAT_KEY] ?? null)}, expected "${OPTIMIZER_FORMAT}")`,
      );
    const text = metadata[SCALARS_KEY];
    if (text === undefined) fail(`${file}: optimizer state has no '${SCALARS_KEY}' metadata`);
    return { scalars: scalarsFromJson(text, file), tensors };
  } catch (e) {
    for (const t of tensors.values()) t.dispose();
    throw e;
  }
}

/** Saves a module's parameters and buffers (Module.stateDict()) with optional metadata. */
export function saveModule(file: string, module: Module, metadata?: Record<string, string>): void {
  saveSafetensors(file, module.stateDict(), metadata);
}

/**
 * Loads a file written by saveModule (or any safetensors file with matching names) into a module,
 * copying onto each parameter's device and dtype. strict (default true) throws on missing or
 * unexpected names; otherwise they are reported. No tensors are left behind.
 */
export function loadModule(
  file: string,
  module: Module,
  opts: { strict?: boolean } = {},
): LoadResult & { metadata: Record<string, string> } {
  const { tensors, metadata } = loadSafetensors(file);
  try {
    return { ...module.loadStateDict(tensors, { strict: opts.strict ?? true }), metadata };
  } finally {
    for (const t of tensors.values()) t.dispose();
  }
}
