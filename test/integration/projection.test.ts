// Image → latent (issue 20, first part) on the bundled tag GAN: projection brings a generated face's
// reconstruction error down, frees what it made, and the CLI's invert → sample --latent round trip
// redraws the image the latent was reported for, with other tags on request.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';

import { liveTensors } from '../../src/engine/index.js';
import { imageToTensor, saveImage } from '../../src/io/index.js';
import { readLatentFile } from '../../src/inference/latent-file.js';
import { TextToImagePipeline } from '../../src/inference/pipeline.js';
import { project } from '../../src/inference/projection.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const MODEL = path.join(root, 'models', 'tag-gan-anime.safetensors');
const CLI = path.join(root, 'dist', 'src', 'cli', 'index.js');
const TAGS = 'blue hair red eyes';
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cai-projection-'));

const cli = (...args: string[]) =>
  spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', env: { ...process.env, CREATIVEAI_THREADS: '1' } });

describe('image → latent', () => {
  test('projecting a generated face brings its error down and frees what it made', async () => {
    const pipe = TextToImagePipeline.load(MODEL, 'cpu', { precision: 'fp32' });
    try {
      using target = pipe.generate([TAGS], { seed: 7 });
      const before = liveTensors();
      const r = await project(pipe, target, TAGS, { steps: 40, starts: 2, seed: 1 });
      assert.deepEqual(r.z.shape, [1, pipe.noiseDim]);
      assert.equal(r.curve.length, 40);
      assert.ok(r.curve[39]! < r.curve[0]! * 0.7, `error ${r.curve[0]} → ${r.curve[39]}`);
      assert.ok(Math.abs(r.mse - r.curve[39]!) < r.curve[39]! * 0.5 + 1e-3, 'the reported error is the final one');
      r.z.dispose();
      assert.equal(liveTensors(), before, 'no tensor is left behind');
      await assert.rejects(project(pipe, target, 'blue hair', { steps: 1 }), /eye/);
      using small = target.narrow(2, 0, 32);
      await assert.rejects(project(pipe, small, TAGS, { steps: 1 }), /must be one 3×64×64 image/);
    } finally {
      pipe.dispose();
    }
  });

  test('invert → sample --latent redraws the image it reported, and other tags keep the face', async () => {
    const target = path.join(tmp, 'face.png');
    const pipe = TextToImagePipeline.load(MODEL, 'cpu');
    try {
      using face = pipe.generate([TAGS], { seed: 11 });
      await saveImage(face.select(0, 0), target);
    } finally {
      pipe.dispose();
    }
    const latent = path.join(tmp, 'latent.json');
    const inv = cli('invert', '--model', MODEL, '--image', target, '--text', TAGS, '--out', latent, '--steps', '30');
    assert.equal(inv.status, 0, inv.stderr);
    assert.match(inv.stderr, /invert 30\/30: mse/);
    const l = readLatentFile(latent);
    assert.equal(l.z.length, 100);
    assert.equal(l.text, TAGS);

    const again = path.join(tmp, 'again.png');
    const s = cli('sample', '--model', MODEL, '--latent', latent, '--text', TAGS, '--out', again);
    assert.equal(s.status, 0, s.stderr);
    using a = await imageToTensor(again);
    using b = await imageToTensor(target);
    assert.deepEqual(a.shape, [3, 64, 64], 'one image, no border');
    using d = a.sub(b);
    using sq = d.square();
    using m = sq.mean();
    const mse = m.item();
    assert.ok(Math.abs(mse - l.mse) < 0.01, `redrawn error ${mse} vs reported ${l.mse}`);

    const edits = path.join(tmp, 'edits.png');
    const e = cli(
      'sample',
      '--model',
      MODEL,
      '--latent',
      latent,
      '--text',
      TAGS,
      '--text',
      'pink hair green eyes',
      '--out',
      edits,
    );
    assert.equal(e.status, 0, e.stderr);
    assert.match(e.stderr, /2 images of 64×64/);
  });

  test('bad input is refused with what is wrong', () => {
    const missing = cli('invert', '--model', MODEL, '--image', path.join(tmp, 'nope.png'), '--text', TAGS);
    assert.equal(missing.status, 2);
    assert.match(missing.stderr, /--image .*no such file/);
    const notImage = path.join(tmp, 'not-an-image.png');
    fs.writeFileSync(notImage, 'hello');
    const bad = cli('invert', '--model', MODEL, '--image', notImage, '--text', TAGS, '--steps', '1');
    assert.notEqual(bad.status, 0);
    assert.match(bad.stderr, /not an image this can read/);
    const wide = path.join(tmp, 'wide.json');
    fs.writeFileSync(wide, JSON.stringify({ z: [1, 2, 3] }));
    const w = cli('sample', '--model', MODEL, '--latent', wide, '--text', TAGS);
    assert.notEqual(w.status, 0);
    assert.match(w.stderr, /3-wide latent; this model's noise is 100 wide/);
    const noText = cli('sample', '--model', MODEL, '--latent', wide, '--tags-file', 'x');
    assert.equal(noText.status, 2);
    assert.match(noText.stderr, /--latent needs --text/);
  });
});
