// TensorBoard event files: CRC-32C, golden bytes, scalar/image/text round trips, corruption, buffering, misuse.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';

import sharp from 'sharp';

import { SummaryWriter, crc32c, maskedCrc32c, readEvents } from '../../src/io/tensorboard.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cai-tensorboard-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));

let runCount = 0;
/** A fresh, empty log directory per test. */
function runDir(): string {
  return path.join(dir, `run${runCount++}`);
}

/** Bit-at-a-time CRC-32C, independent of the table-driven one under test. */
function slowCrc32c(buf: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of buf) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
  }
  return (c ^ 0xffffffff) >>> 0;
}

/** Byte length of the TFRecord at `off` (header, data and both CRCs). */
function recordLength(bytes: Uint8Array, off: number): number {
  return 16 + Number(Buffer.from(bytes).readBigUInt64LE(off));
}

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const ascii = (s: string): string => Buffer.from(s, 'latin1').toString('hex');

test('crc32c matches the standard check values', () => {
  assert.equal(crc32c(Buffer.from('123456789')), 0xe3069283);
  assert.equal(crc32c(new Uint8Array(32)), 0x8a9136aa);
  assert.equal(crc32c(new Uint8Array(0)), 0);
  // masked = ((crc >>> 15) | (crc << 17)) + 0xa282ead8, computed separately
  assert.equal(maskedCrc32c(Buffer.from('123456789')), 0xc78ab0e5);
  assert.equal(maskedCrc32c(new Uint8Array(32)), 0x0fd7fffa);
  const rnd = Uint8Array.from({ length: 1000 }, (_, i) => (i * 2654435761) >>> 24);
  for (const n of [1, 7, 100, 1000]) assert.equal(crc32c(rnd.subarray(0, n)), slowCrc32c(rnd.subarray(0, n)));
});

test('one scalar event is written as the hand-computed golden record', () => {
  const w = new SummaryWriter(runDir());
  w.scalar('loss', 0.5, 3, 1.5);
  w.close();
  const bytes = fs.readFileSync(w.file);
  const second = bytes.subarray(recordLength(bytes, 0));
  // Value { tag(1) = "loss", simple_value(2) = 0.5f }: 0a 04 "loss", 15 <00 00 00 3f>  (11 bytes)
  const value = '0a04' + ascii('loss') + '15' + '0000003f';
  // Summary { value(1) }: 0a 0b <value>  (13 bytes)
  const summary = '0a0b' + value;
  // Event { wall_time(1) = 1.5d, step(2) = 3, summary(5) }: 09 <1.5 LE>, 10 03, 2a 0d <summary>  (26 bytes)
  const event = '09' + '000000000000f83f' + '1003' + '2a0d' + summary;
  // TFRecord: u64 length 26, masked CRC of it, data, masked CRC of data (CRCs from an independent
  // bitwise CRC-32C implementation).
  const expected = '1a00000000000000' + '129bd82d' + event + '80655ee3';
  assert.equal(hex(second), expected);
});

test('the first record is file_version "brain.Event:2"', () => {
  const before = Date.now() / 1000;
  const w = new SummaryWriter(runDir());
  const bytes = fs.readFileSync(w.file); // already on disk before any flush
  w.close();
  // Event { wall_time(1) = now, file_version(3) = "brain.Event:2" }: 24 bytes, only wall_time varies.
  assert.equal(recordLength(bytes, 0), bytes.length);
  assert.equal(hex(bytes.subarray(0, 8)), '1800000000000000');
  assert.equal(bytes[12], 0x09);
  assert.equal(hex(bytes.subarray(21, 36)), '1a0d' + ascii('brain.Event:2'));
  const [first] = readEvents(w.file);
  assert.equal(first?.fileVersion, 'brain.Event:2');
  assert.ok(first.wallTime >= before - 1 && first.wallTime <= Date.now() / 1000 + 1);

  // The same event for a fixed wall time, framed by hand, decodes back exactly.
  const file = path.join(runDir() + '.tfevents');
  const fixed = '09000000000000f83f' + '1a0d' + ascii('brain.Event:2');
  fs.writeFileSync(file, Buffer.from('1800000000000000' + 'a37f4b22' + fixed + '2a28646c', 'hex'));
  assert.deepEqual(readEvents(file), [{ wallTime: 1.5, step: 0, fileVersion: 'brain.Event:2', values: [] }]);
});

test('scalars, images and text read back as written', async () => {
  const png = await sharp({ create: { width: 4, height: 3, channels: 3, background: '#f00' } })
    .png()
    .toBuffer();
  const rgba = await sharp({ create: { width: 2, height: 5, channels: 4, background: '#0f08' } })
    .png()
    .toBuffer();
  const logDir = path.join(runDir(), 'nested', 'deeper'); // created recursively
  const w = new SummaryWriter(logDir, { filenameSuffix: '.v2' });
  assert.match(
    path.basename(w.file),
    new RegExp(
      `^events\\.out\\.tfevents\\.\\d+\\.${os.hostname().replace(/\W/g, '\\$&')}\\.${process.pid}\\.\\d+\\.v2$`,
    ),
  );
  const bigStep = Number.MAX_SAFE_INTEGER;
  w.scalar('loss/D', 1.2345678, 0);
  w.scalar('loss/D', 0.1, 1, 1234.25);
  w.scalar('weird', NaN, 2);
  w.scalar('weird', -Infinity, bigStep);
  w.scalar('zero', 0, 5);
  w.scalars({ 'loss/G': 0.7, 'loss/D': 3e38 }, 7);
  w.image('samples', png, 7);
  w.image('rgba', rgba, 8);
  w.text('caption', '# Title\nthis bird is **red** — ünïcødé', 9);
  w.text('empty', '', 10);
  w.close();

  const events = readEvents(w.file);
  assert.equal(events.length, 11);
  assert.equal(events[0]?.fileVersion, 'brain.Event:2');
  const rest = events.slice(1);
  assert.deepEqual(
    rest.map((e) => e.step),
    [0, 1, 2, bigStep, 5, 7, 7, 8, 9, 10],
  );
  assert.ok(rest.every((e) => e.fileVersion === undefined));
  const f32 = (x: number): number => Math.fround(x);
  assert.deepEqual(rest[0]?.values, [{ tag: 'loss/D', simpleValue: f32(1.2345678) }]);
  assert.equal(rest[1]?.wallTime, 1234.25);
  assert.deepEqual(rest[1]?.values, [{ tag: 'loss/D', simpleValue: f32(0.1) }]);
  assert.ok(Number.isNaN(rest[2]?.values[0]?.simpleValue));
  assert.equal(rest[3]?.values[0]?.simpleValue, -Infinity);
  assert.deepEqual(rest[4]?.values, [{ tag: 'zero', simpleValue: 0 }]); // a 0 is still written
  assert.deepEqual(rest[5]?.values, [
    { tag: 'loss/G', simpleValue: f32(0.7) },
    { tag: 'loss/D', simpleValue: f32(3e38) },
  ]);
  const img = rest[6]?.values[0];
  assert.equal(img?.tag, 'samples');
  assert.deepEqual({ ...img?.image, encoded: undefined }, { height: 3, width: 4, colorspace: 3, encoded: undefined });
  assert.ok(Buffer.from(img?.image?.encoded ?? []).equals(png));
  assert.deepEqual(
    {
      h: rest[7]?.values[0]?.image?.height,
      w: rest[7]?.values[0]?.image?.width,
      c: rest[7]?.values[0]?.image?.colorspace,
    },
    { h: 5, w: 2, c: 4 },
  );
  assert.deepEqual(rest[8]?.values, [
    { tag: 'caption', pluginName: 'text', text: '# Title\nthis bird is **red** — ünïcødé' },
  ]);
  assert.deepEqual(rest[9]?.values, [{ tag: 'empty', pluginName: 'text', text: '' }]);
  for (const e of rest.filter((e) => e.step !== 1)) assert.ok(Math.abs(e.wallTime - Date.now() / 1000) < 60);
});

test('a flipped byte is reported as a CRC mismatch with its record', () => {
  const w = new SummaryWriter(runDir());
  w.scalar('a', 1, 1);
  w.scalar('b', 2, 2);
  w.close();
  const good = fs.readFileSync(w.file);
  const r0 = recordLength(good, 0);
  const r1 = recordLength(good, r0);

  const dataFlip = Buffer.from(good);
  dataFlip[r0 + r1 + 14]! ^= 0x01; // inside the third record's data
  fs.writeFileSync(w.file, dataFlip);
  assert.throws(
    () => readEvents(w.file),
    (e: Error) =>
      /record 2 at offset \d+/.test(e.message) && e.message.includes(`offset ${r0 + r1}`) && /CRC/.test(e.message),
  );

  const lengthFlip = Buffer.from(good);
  lengthFlip[r0]! ^= 0x04; // the second record's length
  fs.writeFileSync(w.file, lengthFlip);
  assert.throws(() => readEvents(w.file), /record 1 at offset \d+: length CRC mismatch/);

  const crcFlip = Buffer.from(good);
  crcFlip[good.length - 1]! ^= 0x80; // the last record's data CRC itself
  fs.writeFileSync(w.file, crcFlip);
  assert.throws(() => readEvents(w.file), /record 2 at offset \d+: data CRC mismatch/);
});

test('a truncated file gives a clear error', () => {
  const w = new SummaryWriter(runDir());
  w.scalar('a', 1, 1);
  w.close();
  const good = fs.readFileSync(w.file);
  const r0 = recordLength(good, 0);
  for (const cut of [good.length - 1, good.length - 5, r0 + 11, r0 + 3]) {
    fs.writeFileSync(w.file, good.subarray(0, cut));
    assert.throws(() => readEvents(w.file), new RegExp(`record 1 at offset ${r0}: truncated`), `cut at ${cut}`);
  }
  fs.writeFileSync(w.file, good.subarray(0, r0)); // a whole number of records is fine
  assert.equal(readEvents(w.file).length, 1);

  // Intact framing around a broken proto (a length-delimited field longer than the message).
  const data = Buffer.from('2a05ff', 'hex');
  const rec = Buffer.alloc(16 + data.length);
  rec.writeBigUInt64LE(BigInt(data.length), 0);
  rec.writeUInt32LE(maskedCrc32c(rec.subarray(0, 8)), 8);
  data.copy(rec, 12);
  rec.writeUInt32LE(maskedCrc32c(data), 12 + data.length);
  fs.writeFileSync(w.file, Buffer.concat([good, rec]));
  assert.throws(() => readEvents(w.file), new RegExp(`record 2 at offset ${good.length}: malformed Event proto`));
});

test('events are buffered until flush, close, the timer or 1 MiB', async () => {
  const w = new SummaryWriter(runDir());
  const size = (): number => fs.statSync(w.file).size;
  const start = size();
  w.scalar('a', 1, 1);
  assert.equal(size(), start, 'written before flush');
  w.flush();
  assert.ok(size() > start);
  assert.equal(readEvents(w.file).length, 2);

  // A big (header-only-valid) PNG goes over 1 MiB of buffered bytes and flushes at once.
  const header = await sharp({ create: { width: 1, height: 1, channels: 3, background: '#000' } })
    .png()
    .toBuffer();
  const big = Buffer.concat([header, Buffer.alloc(1.2 * 1024 * 1024)]);
  const before = size();
  w.image('big', big, 2);
  assert.ok(size() > before + big.length, 'a large image was not flushed');
  w.close();
  assert.equal(readEvents(w.file).length, 3);

  const timed = new SummaryWriter(runDir(), { flushSecs: 0.05 });
  timed.scalar('t', 1, 1);
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(readEvents(timed.file).length, 2, 'the timer did not flush');
  timed.close();
});

test('misuse throws clear errors', () => {
  const w = new SummaryWriter(runDir());
  assert.throws(() => w.scalar('', 1, 0), /tag to be a non-empty string/);
  assert.throws(() => w.scalar(3 as unknown as string, 1, 0), /tag to be a non-empty string/);
  assert.throws(() => w.scalar('a', 1, -1), /step to be a non-negative safe integer/);
  assert.throws(() => w.scalar('a', 1, 1.5), /step to be a non-negative safe integer/);
  assert.throws(() => w.scalar('a', 1, 2 ** 53), /step to be a non-negative safe integer/);
  assert.throws(() => w.scalar('a', '1' as unknown as number, 0), /value to be a number/);
  assert.throws(() => w.scalars({ a: 1, b: null as unknown as number }, 0), /value of b to be a number/);
  assert.throws(() => w.image('img', Buffer.from('GIF89a not a png at all, really not'), 0), /PNG/);
  assert.throws(() => w.image('img', new Uint8Array(4), 0), /PNG/);
  assert.throws(() => w.text('t', 5 as unknown as string, 0), /markdown to be a string/);
  assert.throws(() => new SummaryWriter(runDir(), { flushSecs: 0 }), /flushSecs/);
  assert.throws(() => new SummaryWriter(runDir(), { filenameSuffix: '/x' }), /filenameSuffix/);
  w.close();
  w.close(); // idempotent
  assert.equal(w.closed, true);
  assert.throws(() => w.scalar('a', 1, 0), /SummaryWriter is closed/);
  assert.throws(() => w.text('a', 'x', 0), /SummaryWriter is closed/);
  w.flush(); // nothing to do
  assert.equal(readEvents(w.file).length, 1, 'rejected writes reached the file');
});
