// Image I/O through sharp and torchvision-style grids: exact PNG round trips, resizing, input
// validation, grid layout and padding, and no leaked tensors.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';

import sharp from 'sharp';

import {
  full,
  liveTensors,
  manualSeed,
  rand,
  stack,
  tensor,
  tidy,
  zeros,
  type Tensor,
} from '../../src/engine/index.js';
import { imageToTensor, makeGrid, saveGrid, saveImage, tensorToImage } from '../../src/io/index.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cai-image-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));

async function noLeaks(fn: () => Promise<void> | void): Promise<void> {
  const before = liveTensors();
  await fn();
  assert.equal(liveTensors(), before, 'tensors leaked');
}

function maxAbsDiff(a: Tensor, b: Tensor): number {
  const x = a.toFloat32Array();
  const y = b.toFloat32Array();
  assert.equal(x.length, y.length);
  let m = 0;
  for (let i = 0; i < x.length; i++) m = Math.max(m, Math.abs((x[i] as number) - (y[i] as number)));
  return m;
}

test('PNG round trip: a [3, H, W] tensor in [-1, 1] comes back within 1/127.5', async () => {
  await noLeaks(async () => {
    manualSeed(3);
    const t = tidy(() => rand([3, 7, 5]).mul(2).sub(1));
    const png = await tensorToImage(t);
    assert.deepEqual([...png.subarray(0, 4)], [0x89, 0x50, 0x4e, 0x47]);
    const meta = await sharp(png).metadata();
    assert.equal(meta.width, 5);
    assert.equal(meta.height, 7);
    const back = await imageToTensor(png);
    assert.deepEqual(back.shape, [3, 7, 5]);
    assert.equal(back.dtype, 'float32');
    assert.ok(maxAbsDiff(back, t) <= 1 / 127.5, `max diff ${maxAbsDiff(back, t)}`);

    // Values on the 8-bit grid survive exactly, through a file too.
    const grid = Float32Array.from({ length: 3 * 4 * 4 }, (_, i) => ((i * 37) % 256) / 127.5 - 1);
    const exact = tensor(grid, { shape: [3, 4, 4] });
    const file = path.join(dir, 'exact.png');
    await saveImage(exact, file);
    const read = await imageToTensor(file);
    assert.deepEqual(Array.from(read.toFloat32Array()), Array.from(grid));
    for (const x of [t, back, exact, read]) x.dispose();
  });
});

test('uint8 [H, W, 3], [1, H, W] greyscale, clamping, JPEG and resizing', async () => {
  await noLeaks(async () => {
    // uint8 HWC pixels go out unchanged.
    const px = tensor(new Uint8Array([255, 0, 0, 0, 255, 0, 0, 0, 255, 10, 20, 30]), { shape: [2, 2, 3] });
    const raw = await sharp(await tensorToImage(px))
      .raw()
      .toBuffer();
    assert.deepEqual([...raw], [255, 0, 0, 0, 255, 0, 0, 0, 255, 10, 20, 30]);

    // Out-of-range floats are clamped: -5 -> 0, 5 -> 255, 0 -> 128.
    const grey = tensor([[[-5, 0, 5]]]);
    const png = await tensorToImage(grey);
    assert.equal((await sharp(png).metadata()).channels, 1);
    assert.deepEqual([...(await sharp(png).toColourspace('b-w').raw().toBuffer())], [0, 128, 255]);
    // Read back as RGB the grey value is replicated; as one channel it is not.
    const rgb = await imageToTensor(png);
    assert.deepEqual(rgb.shape, [3, 1, 3]);
    assert.deepEqual(
      rgb.toArray(),
      [[[-1, 128 / 127.5 - 1, 1]], [[-1, 128 / 127.5 - 1, 1]], [[-1, 128 / 127.5 - 1, 1]]].map((c) =>
        c.map((r) => r.map((v) => Math.fround(v))),
      ),
    );
    const one = await imageToTensor(png, { channels: 1 });
    assert.deepEqual(one.shape, [1, 1, 3]);

    // JPEG by name, and resizing on read.
    const big = full([3, 20, 30], 0.5);
    const jpg = path.join(dir, 'big.jpg');
    await saveImage(big, jpg);
    assert.deepEqual([...fs.readFileSync(jpg).subarray(0, 2)], [0xff, 0xd8]);
    const sq = await imageToTensor(jpg, { size: 8 });
    assert.deepEqual(sq.shape, [3, 8, 8]);
    const half = full([3, 8, 8], 0.5);
    assert.ok(maxAbsDiff(sq, half) < 0.05);
    const rect = await imageToTensor(fs.readFileSync(jpg), { size: [4, 12], fit: 'fill' });
    assert.deepEqual(rect.shape, [3, 4, 12]);
    for (const x of [px, grey, rgb, one, big, sq, half, rect]) x.dispose();
  });
});

test('bad inputs are refused with what was expected and what was received', async () => {
  await noLeaks(async () => {
    const four = zeros([4, 2, 2]);
    await assert.rejects(
      tensorToImage(four),
      /Expected a float image of shape \[3, H, W\] or \[1, H, W\] but received float32 \[4, 2, 2\]/u,
    );
    const batch = zeros([2, 3, 2, 2]);
    await assert.rejects(tensorToImage(batch), /received float32 \[2, 3, 2, 2\] \(use makeGrid for a batch\)/u);
    const ints = zeros([3, 2, 2], { dtype: 'int32' });
    await assert.rejects(tensorToImage(ints), /but received int32 \[3, 2, 2\]/u);
    const chw = zeros([3, 2, 2], { dtype: 'uint8' });
    await assert.rejects(
      tensorToImage(chw),
      /uint8 image of shape \[H, W, 3\] or \[H, W, 1\] but received uint8 \[3, 2, 2\]/u,
    );
    const ok = zeros([3, 2, 2]);
    await assert.rejects(tensorToImage(ok, 'gif' as 'png'), /format 'png' or 'jpeg' but received "gif"/u);
    await assert.rejects(saveImage(ok, path.join(dir, 'x.bmp')), /\.png, \.jpg or \.jpeg but received/u);
    const png = await tensorToImage(ok);
    await assert.rejects(imageToTensor(png, { size: 0 }), /positive integer or \[height, width\] but received 0/u);
    await assert.rejects(imageToTensor(png, { size: [2] as unknown as [number, number] }), /received \[2\]/u);
    await assert.rejects(imageToTensor(Buffer.from('not an image')));
    for (const x of [four, batch, ints, chw, ok]) x.dispose();
  });
});

/** torchvision.utils.make_grid, element by element, for checking. */
function referenceGrid(imgs: number[][][][], nrow: number, padding: number, padValue: number): number[][][] {
  const n = imgs.length;
  const c = imgs[0]!.length;
  const h = imgs[0]![0]!.length;
  const w = imgs[0]![0]![0]!.length;
  const xmaps = Math.min(nrow, n);
  const ymaps = Math.ceil(n / xmaps);
  const H = ymaps * (h + padding) + padding;
  const W = xmaps * (w + padding) + padding;
  const grid = Array.from({ length: c }, () => Array.from({ length: H }, () => new Array<number>(W).fill(padValue)));
  let k = 0;
  for (let y = 0; y < ymaps; y++)
    for (let x = 0; x < xmaps; x++) {
      if (k >= n) break;
      for (let ch = 0; ch < c; ch++)
        for (let i = 0; i < h; i++)
          for (let j = 0; j < w; j++)
            grid[ch]![y * (h + padding) + padding + i]![x * (w + padding) + padding + j] = imgs[k]![ch]![i]![j]!;
      k++;
    }
  return grid;
}

test('makeGrid lays images out as torchvision.utils.make_grid', async () => {
  await noLeaks(() => {
    manualSeed(5);
    const imgs = rand([5, 3, 4, 6]);
    const g = makeGrid(imgs, { nrow: 2, padding: 1, padValue: -1 });
    // 3 rows of 2: H = 3 * (4 + 1) + 1, W = 2 * (6 + 1) + 1.
    assert.deepEqual(g.shape, [3, 16, 15]);
    const expected = referenceGrid(imgs.toArray() as number[][][][], 2, 1, -1);
    assert.deepEqual(g.toArray(), expected);
    // Borders and the empty sixth cell are padding.
    const a = g.toArray() as number[][][];
    for (const ch of a) {
      assert.ok(
        ch[0]!.every((v) => v === -1),
        'top border',
      );
      assert.ok(
        ch.every((row) => row[0] === -1 && row[14] === -1),
        'side borders',
      );
      for (let i = 11; i < 16; i++) for (let j = 8; j < 15; j++) assert.equal(ch[i]![j], -1, 'empty cell');
    }
    g.dispose();

    // Defaults: nrow 8, padding 2, padValue 0 (all 5 in one row).
    const d = makeGrid(imgs);
    assert.deepEqual(d.shape, [3, 4 + 4, 5 * 8 + 2]);
    assert.deepEqual(d.toArray(), referenceGrid(imgs.toArray() as number[][][][], 8, 2, 0));
    d.dispose();

    // No padding, a list of images, one channel replicated to three, a single image unpadded.
    const list = [0, 1, 2, 3].map((k) => full([1, 2, 2], k));
    const l = makeGrid(list, { nrow: 2, padding: 0 });
    assert.deepEqual(l.shape, [3, 4, 4]);
    assert.deepEqual((l.toArray() as number[][][])[2], [
      [0, 0, 1, 1],
      [0, 0, 1, 1],
      [2, 2, 3, 3],
      [2, 2, 3, 3],
    ]);
    const one = imgs.narrow(0, 0, 1);
    const single = makeGrid(one);
    assert.deepEqual(single.shape, [3, 4, 6]);
    const first = imgs.select(0, 0);
    assert.equal(maxAbsDiff(single, first), 0);
    const stacked = stack(list);
    const fromStack = makeGrid(stacked, { nrow: 2, padding: 0 });
    assert.equal(maxAbsDiff(fromStack, l), 0);
    const five = zeros([2, 2, 2, 2, 2]);
    assert.throws(() => makeGrid(five), /Expected images of shape \[N, C, H, W\] but received \[2, 2, 2, 2, 2\]/u);
    assert.throws(() => makeGrid(imgs, { nrow: 0 }), /nrow to be an integer >= 1 but received 0/u);
    assert.throws(() => makeGrid([]), /at least one image/u);
    for (const x of [...list, l, one, single, first, stacked, fromStack, five, imgs]) x.dispose();
  });
});

test('saveGrid writes a PNG of the grid', async () => {
  await noLeaks(async () => {
    const imgs = full([3, 3, 8, 8], 1);
    const file = path.join(dir, 'grid.png');
    await saveGrid(imgs, file, { nrow: 3, padding: 2, padValue: -1 });
    const meta = await sharp(file).metadata();
    assert.equal(meta.width, 3 * 10 + 2);
    assert.equal(meta.height, 12);
    const back = await imageToTensor(file);
    const a = back.toArray() as number[][][];
    assert.equal(a[0]![0]![0], -1);
    assert.equal(a[0]![2]![2], 1);
    back.dispose();
    imgs.dispose();
  });
});
