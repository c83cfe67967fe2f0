// TensorBoard event files: TFRecord-framed `tensorboard.Event` protos (tensorboard/compat/proto/
// event.proto, summary.proto, tensor.proto), written with a hand-rolled protobuf encoder so stock
// TensorBoard can open them without a protobuf dependency, and read back (with CRC checks) by tests
// and tools. Encoding follows proto3 rules: fields in field-number order, defaults left out except
// oneof members (a simple_value of 0 must still be written, or the value has no kind at all).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

// ---- CRC-32C (Castagnoli), as TFRecord framing requires ------------------------------------------

const CRC32C_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1; // reflected 0x1EDC6F41
    t[n] = c >>> 0;
  }
  return t;
})();

/** CRC-32C (Castagnoli) of `buf`, as an unsigned 32-bit integer. */
export function crc32c(buf: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < buf.length; i++) c = CRC32C_TABLE[(c ^ buf[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** TFRecord's masked CRC: rotate right by 15 and add a constant (so CRCs of CRCs look random). */
export function maskedCrc32c(buf: Uint8Array): number {
  const c = crc32c(buf);
  return (((c >>> 15) | (c << 17)) + 0xa282ead8) >>> 0;
}

// ---- protobuf encoding -----------------------------------------------------------------------------

const WIRE_VARINT = 0;
const WIRE_FIXED64 = 1;
const WIRE_LEN = 2;
const WIRE_FIXED32 = 5;

/** Appends protobuf fields to a growing list of chunks; `finish` concatenates them. */
class ProtoWriter {
  private chunks: Uint8Array[] = [];

  private varint(v: number): void {
    // Arithmetic rather than bit operations: steps may exceed 2^32 (callers pass safe integers >= 0).
    const out: number[] = [];
    while (v >= 0x80) {
      out.push((v % 0x80) | 0x80);
      v = Math.floor(v / 0x80);
    }
    out.push(v);
    this.chunks.push(Uint8Array.from(out));
  }

  private key(field: number, wire: number): void {
    this.varint(field * 8 + wire);
  }

  uint(field: number, v: number): this {
    this.key(field, WIRE_VARINT);
    this.varint(v);
    return this;
  }

  double(field: number, v: number): this {
    this.key(field, WIRE_FIXED64);
    const b = new Uint8Array(8);
    new DataView(b.buffer).setFloat64(0, v, true);
    this.chunks.push(b);
    return this;
  }

  float(field: number, v: number): this {
    this.key(field, WIRE_FIXED32);
    const b = new Uint8Array(4);
    new DataView(b.buffer).setFloat32(0, v, true);
    this.chunks.push(b);
    return this;
  }

  bytes(field: number, b: Uint8Array): this {
    this.key(field, WIRE_LEN);
    this.varint(b.length);
    this.chunks.push(b);
    return this;
  }

  string(field: number, s: string): this {
    return this.bytes(field, Buffer.from(s, 'utf8'));
  }

  finish(): Uint8Array {
    return Buffer.concat(this.chunks);
  }
}

interface ImageFields {
  height: number;
  width: number;
  colorspace: number;
  encoded: Uint8Array;
}

/** One Summary.Value: exactly one of simple_value, image, or a text-plugin string tensor. */
type ValueFields = { tag: string } & (
  { kind: 'scalar'; value: number } | { kind: 'image'; image: ImageFields } | { kind: 'text'; text: string }
);

const DT_STRING = 7;

function encodeValue(v: ValueFields): Uint8Array {
  const w = new ProtoWriter().string(1, v.tag); // Value.tag = 1
  if (v.kind === 'scalar') {
    w.float(2, v.value); // Value.simple_value = 2
  } else if (v.kind === 'image') {
    const img = new ProtoWriter();
    if (v.image.height) img.uint(1, v.image.height); // Image.height = 1
    if (v.image.width) img.uint(2, v.image.width); // Image.width = 2
    if (v.image.colorspace) img.uint(3, v.image.colorspace); // Image.colorspace = 3
    img.bytes(4, v.image.encoded); // Image.encoded_image_string = 4
    w.bytes(4, img.finish()); // Value.image = 4
  } else {
    // TensorProto: dtype = 1, tensor_shape = 2 (present but empty: a rank-0 tensor), string_val = 8.
    const tensor = new ProtoWriter()
      .uint(1, DT_STRING)
      .bytes(2, new Uint8Array(0))
      .bytes(8, Buffer.from(v.text, 'utf8'))
      .finish();
    // SummaryMetadata.plugin_data = 1 { plugin_name = 1 }; TextPluginData{version: 0} is empty, so
    // `content` (2) is left out as proto3 would.
    const pluginData = new ProtoWriter().string(1, 'text').finish();
    const metadata = new ProtoWriter().bytes(1, pluginData).finish();
    w.bytes(8, tensor); // Value.tensor = 8
    w.bytes(9, metadata); // Value.metadata = 9
  }
  return w.finish();
}

interface EventFields {
  wallTime: number;
  step: number;
  fileVersion?: string;
  values?: ValueFields[];
}

function encodeEvent(e: EventFields): Uint8Array {
  const w = new ProtoWriter();
  if (e.wallTime !== 0) w.double(1, e.wallTime); // Event.wall_time = 1
  if (e.step !== 0) w.uint(2, e.step); // Event.step = 2
  if (e.fileVersion !== undefined) w.string(3, e.fileVersion); // Event.file_version = 3 (oneof)
  if (e.values !== undefined) {
    const summary = new ProtoWriter();
    for (const v of e.values) summary.bytes(1, encodeValue(v)); // Summary.value = 1
    w.bytes(5, summary.finish()); // Event.summary = 5 (oneof)
  }
  return w.finish();
}

/** One TFRecord: uint64 length, masked CRC of those 8 bytes, the data, masked CRC of the data. */
function frameRecord(data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length + 4);
  const dv = new DataView(out.buffer);
  dv.setBigUint64(0, BigInt(data.length), true);
  dv.setUint32(8, maskedCrc32c(out.subarray(0, 8)), true);
  out.set(data, 12);
  dv.setUint32(12 + data.length, maskedCrc32c(data), true);
  return out;
}

// ---- PNG header ------------------------------------------------------------------------------------

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

/** Width, height and Summary.Image colorspace from a PNG's IHDR chunk (the first chunk). */
function pngHeader(png: Uint8Array): { width: number; height: number; colorspace: number } {
  const isPng =
    png instanceof Uint8Array &&
    png.length >= 33 &&
    PNG_SIGNATURE.every((b, i) => png[i] === b) &&
    Buffer.from(png.subarray(12, 16)).toString('latin1') === 'IHDR';
  if (!isPng) throw new TypeError('SummaryWriter.image expects PNG bytes (no PNG signature and IHDR chunk found)');
  const dv = new DataView(png.buffer, png.byteOffset, png.byteLength);
  const width = dv.getUint32(16);
  const height = dv.getUint32(20);
  // PNG colour type -> colorspace (1 grey, 2 grey+alpha, 3 RGB, 4 RGBA); palettes count as RGB.
  const colorspace = ({ 0: 1, 2: 3, 3: 3, 4: 2, 6: 4 } as Record<number, number>)[png[25]!];
  if (colorspace === undefined || width === 0 || height === 0 || width > 0x7fffffff || height > 0x7fffffff)
    throw new TypeError(`SummaryWriter.image: malformed PNG header (${width}x${height}, colour type ${png[25]})`);
  return { width, height, colorspace };
}

// ---- writer ----------------------------------------------------------------------------------------

export interface SummaryWriterOptions {
  /** Longest time, in seconds, that written events wait in memory before reaching the file (default 10). */
  flushSecs?: number;
  /** Appended to the file name (e.g. '.v2'). */
  filenameSuffix?: string;
}

/** Buffered bytes beyond which a write flushes at once, so images cannot pile up in memory. */
const MAX_PENDING_BYTES = 1 << 20;

/** Distinguishes writers created by this process within the same second. */
let writerCount = 0;

function checkTag(tag: unknown): string {
  if (typeof tag !== 'string' || tag.length === 0)
    throw new TypeError(`Expected tag to be a non-empty string but received ${String(tag)}`);
  return tag;
}

function checkStep(step: unknown): number {
  if (typeof step !== 'number' || !Number.isSafeInteger(step) || step < 0)
    throw new TypeError(`Expected step to be a non-negative safe integer but received ${String(step)}`);
  return step;
}

function checkWallTime(wallTime: unknown): number {
  if (wallTime === undefined) return Date.now() / 1000;
  if (typeof wallTime !== 'number' || !Number.isFinite(wallTime))
    throw new TypeError(`Expected wallTime to be a finite number of seconds but received ${String(wallTime)}`);
  return wallTime;
}

/**
 * Writes scalars, PNG images and markdown text to a TensorBoard event file in `logDir`, like
 * torch.utils.tensorboard.SummaryWriter. Events are buffered and appended every `flushSecs`, when
 * over 1 MiB are pending, on `flush()` and on `close()`; call `close()` when done.
 * @example const tb = new SummaryWriter('runs/dcgan'); tb.scalar('loss/G', 0.7, step); tb.close();
 */
export class SummaryWriter {
  readonly logDir: string;
  /** Path of the event file. */
  readonly file: string;
  private fd: number | undefined;
  private pending: Uint8Array[] = [];
  private pendingBytes = 0;
  private timer: ReturnType<typeof setInterval> | undefined;
  /** A failure of a timer-driven flush, reported by the next call (a timer cannot throw to anyone). */
  private deferredError: unknown;

  constructor(logDir: string, opts: SummaryWriterOptions = {}) {
    if (typeof logDir !== 'string' || logDir.length === 0)
      throw new TypeError(`Expected logDir to be a non-empty string but received ${String(logDir)}`);
    const flushSecs = opts.flushSecs ?? 10;
    if (typeof flushSecs !== 'number' || !(flushSecs > 0) || !Number.isFinite(flushSecs))
      throw new TypeError(`Expected flushSecs to be a positive number but received ${String(flushSecs)}`);
    const suffix = opts.filenameSuffix ?? '';
    if (typeof suffix !== 'string' || /[/\\\0]/.test(suffix))
      throw new TypeError(`Expected filenameSuffix to be a string without path separators but received ${suffix}`);
    this.logDir = logDir;
    fs.mkdirSync(logDir, { recursive: true });
    const name = `events.out.tfevents.${Math.floor(Date.now() / 1000)}.${os.hostname()}.${process.pid}.${writerCount++}${suffix}`;
    this.file = path.join(logDir, name);
    // 'wx': never append to (and corrupt) someone else's file of the same name.
    this.fd = fs.openSync(this.file, 'wx');
    this.push({ wallTime: Date.now() / 1000, step: 0, fileVersion: 'brain.Event:2' });
    this.flush(); // TensorBoard picks the run up at once, even before the first summary.
    this.timer = setInterval(() => {
      try {
        this.flush();
      } catch (e) {
        this.deferredError ??= e;
      }
    }, flushSecs * 1000);
    this.timer.unref(); // a forgotten writer must not keep the process alive
  }

  /** Whether `close()` has been called. */
  get closed(): boolean {
    return this.fd === undefined;
  }

  private check(): void {
    if (this.deferredError !== undefined) {
      const e = this.deferredError;
      this.deferredError = undefined;
      throw e;
    }
  }

  private push(event: EventFields): void {
    if (this.fd === undefined) throw new Error(`SummaryWriter is closed; cannot write to ${this.file}`);
    this.check();
    const record = frameRecord(encodeEvent(event));
    this.pending.push(record);
    this.pendingBytes += record.length;
    if (this.pendingBytes > MAX_PENDING_BYTES) this.flush();
  }

  /** Logs one scalar (stored as float32, as TensorBoard does; NaN and ±Infinity are kept). */
  scalar(tag: string, value: number, step: number, wallTime?: number): void {
    checkTag(tag);
    if (typeof value !== 'number') throw new TypeError(`Expected value to be a number but received ${String(value)}`);
    this.push({
      wallTime: checkWallTime(wallTime),
      step: checkStep(step),
      values: [{ kind: 'scalar', tag, value }],
    });
  }

  /** Logs several scalars at one step, in one event (e.g. { 'loss/D': 1.2, 'loss/G': 0.7 }). */
  scalars(record: Record<string, number>, step: number, wallTime?: number): void {
    if (typeof record !== 'object' || record === null)
      throw new TypeError(`Expected an object of tag -> number but received ${String(record)}`);
    const values: ValueFields[] = Object.entries(record).map(([tag, value]) => {
      checkTag(tag);
      if (typeof value !== 'number')
        throw new TypeError(`Expected the value of ${tag} to be a number but received ${String(value)}`);
      return { kind: 'scalar', tag, value };
    });
    if (values.length === 0) return;
    this.push({ wallTime: checkWallTime(wallTime), step: checkStep(step), values });
  }

  /** Logs an encoded PNG (e.g. from `sharp(...).png().toBuffer()`); its size comes from the header. */
  image(tag: string, png: Uint8Array, step: number, wallTime?: number): void {
    checkTag(tag);
    const header = pngHeader(png);
    this.push({
      wallTime: checkWallTime(wallTime),
      step: checkStep(step),
      values: [{ kind: 'image', tag, image: { ...header, encoded: png } }],
    });
  }

  /** Logs markdown text for TensorBoard's text dashboard. */
  text(tag: string, markdown: string, step: number, wallTime?: number): void {
    checkTag(tag);
    if (typeof markdown !== 'string')
      throw new TypeError(`Expected markdown to be a string but received ${String(markdown)}`);
    this.push({
      wallTime: checkWallTime(wallTime),
      step: checkStep(step),
      values: [{ kind: 'text', tag, text: markdown }],
    });
  }

  /** Appends every buffered event to the file. A no-op once closed. */
  flush(): void {
    if (this.fd === undefined) return;
    this.check();
    if (this.pending.length === 0) return;
    const data = Buffer.concat(this.pending);
    let off = 0;
    while (off < data.length) off += fs.writeSync(this.fd, data, off, data.length - off);
    this.pending = [];
    this.pendingBytes = 0;
  }

  /** Flushes and closes the file; later writes throw. Safe to call more than once. */
  close(): void {
    if (this.fd === undefined) return;
    clearInterval(this.timer);
    this.timer = undefined;
    try {
      this.flush();
    } finally {
      fs.closeSync(this.fd);
      this.fd = undefined;
      this.pending = [];
      this.pendingBytes = 0;
    }
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

// ---- reader ----------------------------------------------------------------------------------------

export interface ParsedImage {
  height: number;
  width: number;
  colorspace: number;
  encoded: Uint8Array;
}

export interface ParsedValue {
  tag: string;
  /** Summary.Value.simple_value, when that is the value's kind. */
  simpleValue?: number;
  image?: ParsedImage;
  /** The string of a text-plugin value (several string_val entries are joined by newlines). */
  text?: string;
  /** SummaryMetadata.plugin_data.plugin_name, when the value carries metadata. */
  pluginName?: string;
}

export interface ParsedEvent {
  wallTime: number;
  step: number;
  fileVersion?: string;
  /** The summary's values; empty for events without a summary. */
  values: ParsedValue[];
}

/** A protobuf field: varints as bigint (int64 fields may be negative), fixed as raw bytes. */
interface Field {
  no: number;
  wire: number;
  varint: bigint;
  bytes: Uint8Array;
}

/** Splits a protobuf message into its fields; throws on malformed input. */
function parseFields(buf: Uint8Array): Field[] {
  const fields: Field[] = [];
  let pos = 0;
  const readVarint = (): bigint => {
    let result = 0n;
    for (let shift = 0n; shift < 70n; shift += 7n) {
      if (pos >= buf.length) throw new Error('truncated varint');
      const b = buf[pos++]!;
      result |= BigInt(b & 0x7f) << shift;
      if (b < 0x80) return BigInt.asUintN(64, result);
    }
    throw new Error('varint longer than 10 bytes');
  };
  const take = (n: number): Uint8Array => {
    if (n > buf.length - pos) throw new Error(`field runs past the end of its message`);
    const b = buf.subarray(pos, pos + n);
    pos += n;
    return b;
  };
  const none = new Uint8Array(0);
  while (pos < buf.length) {
    const key = readVarint();
    const no = Number(key >> 3n);
    const wire = Number(key & 7n);
    if (no === 0) throw new Error('field number 0');
    if (wire === WIRE_VARINT) fields.push({ no, wire, varint: readVarint(), bytes: none });
    else if (wire === WIRE_FIXED64) fields.push({ no, wire, varint: 0n, bytes: take(8) });
    else if (wire === WIRE_FIXED32) fields.push({ no, wire, varint: 0n, bytes: take(4) });
    else if (wire === WIRE_LEN) {
      const n = readVarint();
      if (n > BigInt(buf.length - pos)) throw new Error(`field runs past the end of its message`);
      fields.push({ no, wire, varint: 0n, bytes: take(Number(n)) });
    } else throw new Error(`unsupported wire type ${wire}`);
  }
  return fields;
}

const utf8 = new TextDecoder('utf-8');

function asDouble(f: Field): number {
  return new DataView(f.bytes.buffer, f.bytes.byteOffset, 8).getFloat64(0, true);
}

function asFloat(f: Field): number {
  return new DataView(f.bytes.buffer, f.bytes.byteOffset, 4).getFloat32(0, true);
}

/** int32/int64 varints are two's complement over 64 bits. */
function asInt(f: Field): number {
  return Number(BigInt.asIntN(64, f.varint));
}

function decodeImage(buf: Uint8Array): ParsedImage {
  const img: ParsedImage = { height: 0, width: 0, colorspace: 0, encoded: new Uint8Array(0) };
  for (const f of parseFields(buf)) {
    if (f.no === 1 && f.wire === WIRE_VARINT) img.height = asInt(f);
    else if (f.no === 2 && f.wire === WIRE_VARINT) img.width = asInt(f);
    else if (f.no === 3 && f.wire === WIRE_VARINT) img.colorspace = asInt(f);
    else if (f.no === 4 && f.wire === WIRE_LEN) img.encoded = Uint8Array.from(f.bytes);
  }
  return img;
}

function decodePluginName(metadata: Uint8Array): string | undefined {
  const pluginData = parseFields(metadata).find((f) => f.no === 1 && f.wire === WIRE_LEN);
  if (pluginData === undefined) return undefined;
  const name = parseFields(pluginData.bytes).find((f) => f.no === 1 && f.wire === WIRE_LEN);
  return name === undefined ? undefined : utf8.decode(name.bytes);
}

function decodeValue(buf: Uint8Array): ParsedValue {
  const v: ParsedValue = { tag: '' };
  let tensor: Uint8Array | undefined;
  for (const f of parseFields(buf)) {
    if (f.no === 1 && f.wire === WIRE_LEN) v.tag = utf8.decode(f.bytes);
    else if (f.no === 2 && f.wire === WIRE_FIXED32) v.simpleValue = asFloat(f);
    else if (f.no === 4 && f.wire === WIRE_LEN) v.image = decodeImage(f.bytes);
    else if (f.no === 8 && f.wire === WIRE_LEN) tensor = f.bytes;
    else if (f.no === 9 && f.wire === WIRE_LEN) v.pluginName = decodePluginName(f.bytes);
  }
  if (tensor !== undefined && v.pluginName === 'text') {
    const strings = parseFields(tensor)
      .filter((f) => f.no === 8 && f.wire === WIRE_LEN)
      .map((f) => utf8.decode(f.bytes));
    v.text = strings.join('\n');
  }
  return v;
}

function decodeEvent(buf: Uint8Array): ParsedEvent {
  const e: ParsedEvent = { wallTime: 0, step: 0, values: [] };
  for (const f of parseFields(buf)) {
    if (f.no === 1 && f.wire === WIRE_FIXED64) e.wallTime = asDouble(f);
    else if (f.no === 2 && f.wire === WIRE_VARINT) e.step = asInt(f);
    else if (f.no === 3 && f.wire === WIRE_LEN) e.fileVersion = utf8.decode(f.bytes);
    else if (f.no === 5 && f.wire === WIRE_LEN)
      for (const s of parseFields(f.bytes)) if (s.no === 1 && s.wire === WIRE_LEN) e.values.push(decodeValue(s.bytes));
  }
  return e;
}

/**
 * Reads every event of a TensorBoard event file, checking both CRCs of each record. Throws an
 * Error naming the record index and byte offset on a CRC mismatch, truncation or a malformed proto.
 */
export function readEvents(file: string): ParsedEvent[] {
  const buf = fs.readFileSync(file);
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const events: ParsedEvent[] = [];
  let off = 0;
  for (let i = 0; off < buf.length; i++) {
    const where = `${file}: record ${i} at offset ${off}`;
    if (buf.length - off < 12) throw new Error(`${where}: truncated header (${buf.length - off} of 12 bytes)`);
    if (dv.getUint32(off + 8, true) !== maskedCrc32c(buf.subarray(off, off + 8)))
      throw new Error(`${where}: length CRC mismatch (corrupt file)`);
    const len = dv.getBigUint64(off, true);
    const remaining = buf.length - off - 12;
    if (len + 4n > BigInt(remaining))
      throw new Error(`${where}: truncated record (needs ${len + 4n} bytes, ${remaining} remain)`);
    const n = Number(len);
    const data = buf.subarray(off + 12, off + 12 + n);
    if (dv.getUint32(off + 12 + n, true) !== maskedCrc32c(data))
      throw new Error(`${where}: data CRC mismatch (corrupt file)`);
    try {
      events.push(decodeEvent(data));
    } catch (e) {
      throw new Error(`${where}: malformed Event proto: ${(e as Error).message}`, { cause: e });
    }
    off += 12 + n + 4;
  }
  return events;
}
