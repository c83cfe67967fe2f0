// The preprocessed cache and the loader: determinism, augmentation, mismatched captions,
// multi-resolution batches, worker threads, bad data and corrupt caches.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';

import { CacheReader, DataLoader, bboxCrop, prepareCache } from '../../src/data/index.js';
import type { DatasetSource, Record as DataRecord } from '../../src/data/types.js';
import { liveTensors } from '../../src/engine/index.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cai-cache-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

const COLOURS: [number, number, number][] = [
  [255, 0, 0],
  [0, 255, 0],
  [0, 0, 255],
  [255, 255, 0],
];

/** Image k: a solid class colour with a white pixel column at x = 0 (shows flips) and its index
 *  encoded in the top-left pixel's blue value. */
function record(k: number): DataRecord {
  const cls = k % 4;
  return {
    id: `img${k}`,
    classId: `class${cls}`,
    captions: [`caption ${k} a`, `caption ${k} b`],
    image: {
      kind: 'render',
      render: (size) => {
        const px = new Uint8Array(size * size * 3);
        for (let y = 0; y < size; y++)
          for (let x = 0; x < size; x++) {
            const o = (y * size + x) * 3;
            const c = x === 0 ? [255, 255, 255] : COLOURS[cls]!;
            px[o] = c[0]!;
            px[o + 1] = c[1]!;
            px[o + 2] = c[2]!;
          }
        return px;
      },
    },
  };
}

function source(n: number, extra: DataRecord[] = []): DatasetSource {
  return {
    name: 'test',
    text: 'captions',
    records: [...Array.from({ length: n }, (_, k) => record(k)), ...extra],
    problems: [],
  };
}

describe('prepareCache', () => {
  test('writes shards, records and a manifest; reports undecodable images and keeps going', async () => {
    const broken = path.join(tmp, 'broken.jpg');
    fs.writeFileSync(broken, 'this is not a jpeg');
    const bad: DataRecord = { id: 'bad', classId: 'class0', captions: ['x'], image: { kind: 'file', path: broken } };
    const { manifest, dir } = await prepareCache(source(40, [bad]), {
      out: path.join(tmp, 'c1'),
      resolutions: [32, 16],
      cropMargin: 1.25,
      split: 'random:0.5,0.25',
      shardSize: 16,
      progress: false,
    });
    assert.equal(manifest.count, 40);
    assert.deepEqual(manifest.resolutions, [16, 32]);
    assert.deepEqual(manifest.stored, { '16': 20, '32': 40 });
    assert.equal(manifest.shards['16']!.length, 3);
    assert.deepEqual(manifest.split.counts, { train: 20, val: 10, test: 10 });
    assert.equal(manifest.problems.total, 1);
    assert.equal(manifest.problems.first[0]!.reason, 'unreadable-image');
    assert.match(manifest.sourceChecksum, /^[0-9a-f]{64}$/);
    const reader = CacheReader.open(dir);
    const px = new Uint8Array(20 * 20 * 3);
    reader.readImage(16, 5, px);
    assert.deepEqual([...px.slice(3, 6)], COLOURS[1]); // record 5 is class 1
    reader.close();
  });

  test('the same data and seed give the same checksum and split', async () => {
    const a = await prepareCache(source(12), { out: path.join(tmp, 'c2'), progress: false, seed: 3 });
    const b = await prepareCache(source(12), { out: path.join(tmp, 'c3'), progress: false, seed: 3 });
    assert.equal(a.manifest.sourceChecksum, b.manifest.sourceChecksum);
    assert.deepEqual(CacheReader.open(a.dir).records, CacheReader.open(b.dir).records);
  });

  test('refuses to overwrite, and a failed run leaves nothing behind', async () => {
    await assert.rejects(prepareCache(source(4), { out: path.join(tmp, 'c2'), progress: false }), /already exists/);
    const broken = path.join(tmp, 'broken2.jpg');
    fs.writeFileSync(broken, 'nope');
    const onlyBad: DatasetSource = {
      name: 'bad',
      text: 'captions',
      records: [{ id: 'b', classId: 'c', captions: ['x'], image: { kind: 'file', path: broken } }],
      problems: [],
    };
    await assert.rejects(prepareCache(onlyBad, { out: path.join(tmp, 'c4'), progress: false }), /could be decoded/);
    assert.equal(fs.existsSync(path.join(tmp, 'c4')), false);
    assert.deepEqual(
      fs.readdirSync(tmp).filter((f) => f.includes('.tmp-')),
      [],
    );
  });

  test('bboxCrop follows StackGAN: 1.5 × the longer side around the centre, clipped', () => {
    assert.deepEqual(bboxCrop([100, 50, 40, 80], 500, 400), { left: 60, top: 30, width: 120, height: 120 });
    assert.deepEqual(bboxCrop([0, 0, 40, 80], 500, 400), { left: 0, top: 0, width: 80, height: 100 });
  });
});

describe('CacheReader', () => {
  test('names what is wrong with a missing or corrupt cache', async () => {
    assert.throws(() => CacheReader.open(path.join(tmp, 'nothing')), /not a prepared cache/);
    const { dir, manifest } = await prepareCache(source(8), { out: path.join(tmp, 'c5'), progress: false });
    const shard = path.join(dir, manifest.shards['64']![0]!);
    fs.truncateSync(shard, 100);
    assert.throws(() => CacheReader.open(dir), /truncated/);
  });
});

describe('DataLoader', () => {
  const start = liveTensors();
  let dir = '';

  test('setup', async () => {
    ({ dir } = await prepareCache(source(64), {
      out: path.join(tmp, 'c6'),
      resolutions: [16, 32],
      cropMargin: 1.25,
      split: 'random:1,0',
      progress: false,
    }));
  });

  const collect = async (o: ConstructorParameters<typeof DataLoader>[1], epoch = 0, startBatch = 0) => {
    const loader = new DataLoader(CacheReader.open(dir), o);
    const out: { indices: number[]; captions: string[]; wrong: string[]; img: number[] }[] = [];
    for await (const b of loader.epoch(epoch, { startBatch })) {
      out.push({
        indices: b.indices,
        captions: b.captions,
        wrong: b.wrongClassIds,
        img: Array.from(b.images.get(16)!.toFloat32Array()),
      });
      assert.deepEqual(b.images.get(16)!.shape, [8, 3, 16, 16]);
      assert.deepEqual(b.images.get(32)!.shape, [8, 3, 32, 32]);
      b.dispose();
    }
    await loader.close();
    return out;
  };

  test('same seed, same batches; workers and the main thread agree; resume mid-epoch', async () => {
    const o = { batchSize: 8, resolutions: [16, 32], seed: 7 };
    const a = await collect({ ...o, workers: 1 });
    const b = await collect({ ...o, workers: 0 });
    assert.equal(a.length, 8);
    assert.deepEqual(a, b);
    const resumed = await collect({ ...o, workers: 2 }, 0, 5);
    assert.deepEqual(resumed, a.slice(5));
    const other = await collect({ ...o, workers: 0 }, 1);
    assert.notDeepEqual(
      other.map((x) => x.indices),
      a.map((x) => x.indices),
    );
    assert.deepEqual(
      [...new Set(a.flatMap((x) => x.indices))].sort((p, q) => p - q),
      [...Array(64).keys()],
    );
  });

  test('mismatched captions come from another class; captions are one of the record’s own', async () => {
    const loader = new DataLoader(CacheReader.open(dir), { batchSize: 16, resolutions: [16], workers: 0 });
    for await (const b of loader.epoch(0)) {
      b.classIds.forEach((c, k) => assert.notEqual(b.wrongClassIds[k], c));
      b.indices.forEach((i, k) => assert.match(b.captions[k]!, new RegExp(`^caption ${i} [ab]$`)));
      b.dispose();
    }
    await loader.close();
  });

  test('augmentation: crops keep the class colour, flips move the white column', async () => {
    const loader = new DataLoader(CacheReader.open(dir), { batchSize: 64, resolutions: [32], workers: 0, seed: 1 });
    let left = 0;
    let right = 0;
    const isWhite = (img: Float32Array, base: number, x: number) =>
      [0, 1, 2].every((c) => img[base + c * 32 * 32 + x] === 1);
    for (let epoch = 0; epoch < 5; epoch++) {
      for await (const b of loader.epoch(epoch)) {
        const img = b.images.get(32)!.toFloat32Array();
        for (let k = 0; k < 64; k++) {
          const base = k * 3 * 32 * 32;
          // The white column (x = 0 of the 40 px stored image) shows only when the crop starts at
          // x = 0: at the left edge unflipped, at the right edge flipped.
          if (isWhite(img, base, 0)) left++;
          if (isWhite(img, base, 31)) right++;
          const cls = b.indices[k]! % 4;
          const mid = [0, 1, 2].map((c) => img[base + c * 32 * 32 + 16 * 32 + 16]!);
          assert.deepEqual(
            mid,
            COLOURS[cls]!.map((v) => v / 127.5 - 1),
            'the class colour survives the crop',
          );
        }
        b.dispose();
      }
    }
    // P(crop at x = 0) = 1/16 per sample and side: about 10 of 320 each way.
    assert.ok(left > 0 && right > 0 && left + right < 60, `white column seen left ${left}, right ${right}`);
    await loader.close();
  });

  test('images are in [-1, 1], reaching both ends, and no tensor leaks', async () => {
    const batches = await collect({ batchSize: 8, resolutions: [16, 32], seed: 3, workers: 0 });
    const px = batches.flatMap((b) => b.img);
    const lo = px.reduce((a, b) => Math.min(a, b), Infinity);
    const hi = px.reduce((a, b) => Math.max(a, b), -Infinity);
    assert.ok(lo >= -1 && hi <= 1, `pixels in [${lo}, ${hi}]`);
    // The test images' channels are 255 (→ 1) or 0 (→ -1) in solid regions: the scaling is
    // x / 127.5 - 1, not a [0, 1] or a [0, 255] one.
    assert.equal(hi, 1);
    assert.equal(lo, -1);
    assert.equal(liveTensors(), start);
  });
});
