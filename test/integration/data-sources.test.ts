// Dataset adapters on small fixtures in the public layouts (counts, captions, classes, boxes,
// attributes, splits and every problem reason), their errors for wrong roots, the procedural
// shapes set, openDataset's detection, and the real copies in the shared datasets folder when present
// (test/helpers/shared-data.ts).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';

import {
  SHAPES_BACKGROUND,
  makeShapes,
  openDataset,
  parseCsv,
  readAnimeFaces,
  readCub,
  readCubExtra,
  readCustom,
  readOxford102,
} from '../../src/data/sources/index.js';
import { describeProblems, type DataProblem, type DatasetSource, type Record } from '../../src/data/types.js';
import { prepareCache, CacheReader, DataLoader } from '../../src/data/index.js';
import { makeCubExtra } from '../helpers/cub-extra.js';
import { sharedData, skipWithout } from '../helpers/shared-data.js';

// Compiled to dist/test/integration/: the fixtures stay in the source tree.
const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const fx = (name: string): string => path.join(repo, 'test', 'fixtures', name);

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cai-data-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

function byId(ds: DatasetSource, id: string): Record {
  const r = ds.records.find((x) => x.id === id);
  assert.ok(r, `no record ${id} in ${ds.records.map((x) => x.id).join(', ')}`);
  return r;
}

function reasons(problems: DataProblem[]): string[] {
  return problems.map((p) => `${p.reason} ${p.item}`).sort();
}

function filePath(r: Record): string {
  assert.equal(r.image.kind, 'file');
  return (r.image as { kind: 'file'; path: string }).path;
}

test('anime-faces HW3-2 layout: tags, attributes, missing images and lines', async () => {
  const ds = await readAnimeFaces(fx('anime-hw32'));
  assert.equal(ds.name, 'anime-faces');
  assert.equal(ds.text, 'tags');
  assert.deepEqual(
    ds.records.map((r) => r.id),
    ['images/0.jpg', 'images/1.jpg', 'images/2.jpg', 'images/3.jpg'],
  );
  const r1 = byId(ds, 'images/1.jpg');
  assert.deepEqual(r1.captions, ['blonde hair aqua eyes']);
  assert.equal(r1.classId, 'blonde hair aqua eyes');
  assert.deepEqual(r1.attributes, { hair: 'blonde', eyes: 'aqua' });
  assert.ok(fs.existsSync(filePath(r1)));
  assert.equal(byId(ds, 'images/0.jpg').classId, byId(ds, 'images/2.jpg').classId);
  assert.deepEqual(reasons(ds.problems), [
    'bad-line images/4.jpg',
    'bad-line tags.csv:6',
    'missing-image images/7.jpg',
  ]);
  assert.match(describeProblems(ds.problems), /skipped 3 item\(s\): 1 × missing-image, 2 × bad-line/);
});

test('anime-faces original layout: colour tags only, highest count first, unknown tags', async () => {
  const ds = await readAnimeFaces(fx('anime-original'));
  assert.equal(ds.records.length, 4);
  assert.ok(ds.records.every((r) => r.id.startsWith('faces/')));
  assert.deepEqual(byId(ds, 'faces/0.jpg').attributes, { hair: 'blonde', eyes: 'blue' });
  // "long hair"/"closed eyes" are not colours; red (11) beats pink (9).
  assert.deepEqual(byId(ds, 'faces/1.jpg').captions, ['red hair green eyes']);
  // grey -> gray; equal counts keep the first eye tag.
  assert.equal(byId(ds, 'faces/3.jpg').classId, 'gray hair yellow eyes');
  assert.equal(byId(ds, 'faces/4.jpg').classId, 'aqua hair aqua eyes');
  assert.deepEqual(reasons(ds.problems), ['unknown-tags faces/2.jpg']);
  assert.match(ds.problems[0]?.detail ?? '', /no eye colour/);
  // Forcing the other layout reads the folder as HW3-2 and fails cleanly (images/ is absent).
  await assert.rejects(readAnimeFaces(fx('anime-original'), { layout: 'hw3-2' }), /images.*Expected layout/s);
});

test('cub: records, captions, bbox, split, absent classes and problems', async () => {
  const ds = await readCub(fx('cub-mini'));
  assert.equal(ds.name, 'cub');
  assert.equal(ds.text, 'captions');
  assert.deepEqual(
    ds.records.map((r) => r.id),
    [
      '001.Alpha_Bird/Alpha_Bird_0001_1.jpg',
      '001.Alpha_Bird/Alpha_Bird_0002_2.jpg',
      '002.Beta_Bird/Beta_Bird_0001_3.jpg',
    ],
  );
  const a2 = byId(ds, '001.Alpha_Bird/Alpha_Bird_0002_2.jpg');
  assert.deepEqual(a2.captions, ['a bird with a long beak.', 'the bird is brown.']);
  assert.equal(a2.classId, '001.Alpha_Bird');
  assert.deepEqual(a2.bbox, [1, 2, 5, 5]);
  assert.deepEqual(byId(ds, '002.Beta_Bird/Beta_Bird_0001_3.jpg').bbox, [2, 3, 4, 5]);
  assert.ok(fs.existsSync(filePath(a2)));
  assert.deepEqual(ds.absent, { classes: 1, images: 2 });
  assert.deepEqual(reasons(ds.problems), [
    'caption-without-image text_c10/002.Beta_Bird/Beta_Bird_0003_9.txt',
    'empty-captions text_c10/002.Beta_Bird/Beta_Bird_0002_4.txt',
  ]);
  assert.deepEqual(ds.split, {
    train: ['001.Alpha_Bird/Alpha_Bird_0001_1.jpg', '001.Alpha_Bird/Alpha_Bird_0002_2.jpg'],
    test: ['002.Beta_Bird/Beta_Bird_0001_3.jpg'],
  });
  assert.equal(ds.splitFrom, 'split/train_filenames.txt');
});

test('cub: class split files when there are no filename lists, none when neither', async () => {
  const root = path.join(tmp, 'cub-classes');
  fs.cpSync(fx('cub-mini'), root, { recursive: true });
  fs.rmSync(path.join(root, 'split'), { recursive: true });
  let ds = await readCub(root);
  assert.equal(ds.split, undefined);
  fs.writeFileSync(path.join(root, 'trainclasses.txt'), '002.Beta_Bird\n');
  fs.writeFileSync(path.join(root, 'testclasses.txt'), '001.Alpha_Bird\n003.Absent_Bird\n');
  ds = await readCub(root);
  assert.equal(ds.splitFrom, 'classes');
  assert.deepEqual(ds.split?.train, ['002.Beta_Bird/Beta_Bird_0001_3.jpg']);
  assert.equal(ds.split?.test.length, 2);
  // Missing image with its caption file → caption-without-image; `text/` works as caption folder.
  fs.rmSync(path.join(root, 'CUB_200_2011/images/001.Alpha_Bird/Alpha_Bird_0001_1.jpg'));
  fs.renameSync(path.join(root, 'text_c10'), path.join(root, 'text'));
  ds = await readCub(root);
  assert.equal(ds.records.length, 2);
  assert.ok(
    ds.problems.some(
      (p) => p.reason === 'caption-without-image' && p.item === 'text/001.Alpha_Bird/Alpha_Bird_0001_1.txt',
    ),
  );
});

test('oxford-102: caption folders give classes, class files give the split', async () => {
  const ds = await readOxford102(fx('oxford-mini'));
  assert.equal(ds.name, 'oxford-102');
  assert.deepEqual(
    ds.records.map((r) => [r.id, r.classId]),
    [
      ['jpg/image_00001.jpg', 'class_00001'],
      ['jpg/image_00002.jpg', 'class_00001'],
      ['jpg/image_00003.jpg', 'class_00002'],
      ['jpg/image_00004.jpg', 'class_00002'],
    ],
  );
  assert.deepEqual(byId(ds, 'jpg/image_00004.jpg').captions, [
    'this flower has white petals.',
    'white petals, green stem.',
  ]);
  assert.deepEqual(ds.split, {
    train: ['jpg/image_00001.jpg', 'jpg/image_00002.jpg'],
    test: ['jpg/image_00003.jpg', 'jpg/image_00004.jpg'],
  });
  assert.deepEqual(ds.problems, []);

  const root = path.join(tmp, 'oxford-flawed');
  fs.cpSync(fx('oxford-mini'), root, { recursive: true });
  fs.rmSync(path.join(root, 'jpg/image_00002.jpg'));
  fs.writeFileSync(path.join(root, 'text_c10/class_00002/image_00003.txt'), '\n  \n');
  fs.copyFileSync(path.join(root, 'jpg/image_00001.jpg'), path.join(root, 'jpg/image_00005.jpg'));
  for (const f of ['trainclasses.txt', 'testclasses.txt']) fs.rmSync(path.join(root, f));
  const bad = await readOxford102(root);
  assert.deepEqual(
    bad.records.map((r) => r.id),
    ['jpg/image_00001.jpg', 'jpg/image_00004.jpg'],
  );
  assert.equal(bad.split, undefined);
  assert.deepEqual(reasons(bad.problems), [
    'caption-without-image text_c10/class_00001/image_00002.txt',
    'empty-captions jpg/image_00005.jpg',
    'empty-captions text_c10/class_00002/image_00003.txt',
  ]);
});

test('custom: captions.jsonl', async () => {
  const ds = await readCustom(fx('custom-jsonl'));
  assert.equal(ds.name, 'custom');
  assert.deepEqual(
    ds.records.map((r) => r.id),
    ['a.png', 'images/b.png'],
  );
  assert.deepEqual(byId(ds, 'a.png').captions, ['a red square', 'a square in red']);
  assert.equal(byId(ds, 'a.png').classId, 'a red square');
  assert.deepEqual(byId(ds, 'images/b.png').captions, ['a blue thing', 'a bluish thing']);
  assert.equal(byId(ds, 'images/b.png').classId, 'blue');
  assert.deepEqual(reasons(ds.problems), ['bad-line captions.jsonl:4', 'missing-image missing.png']);
});

test('custom: captions.csv with RFC-4180 quoting', async () => {
  const ds = await readCustom(fx('custom-csv'));
  assert.deepEqual(byId(ds, 'a.jpg').captions, ['a red square, on grey', 'plain caption']);
  assert.deepEqual(byId(ds, 'b.jpg').captions, ['she said "hi"', 'two\nlines']);
  assert.equal(ds.records.length, 2);
  assert.deepEqual(reasons(ds.problems), ['empty-captions c.jpg']);

  assert.deepEqual(parseCsv('a,"b,""c"""\r\n\r\n"x\r\ny",z,\n'), [
    { line: 1, fields: ['a', 'b,"c"'] },
    { line: 3, fields: ['x\r\ny', 'z', ''] },
  ]);
  const errors: number[] = [];
  assert.deepEqual(
    parseCsv('a,b\n"open,c\n', (line) => errors.push(line)),
    [{ line: 1, fields: ['a', 'b'] }],
  );
  assert.deepEqual(errors, [2]);
});

test('custom: one .txt per image, sub-folders, orphans; broken images are not decoded here', async () => {
  const ds = await readCustom(fx('custom-txt'));
  assert.deepEqual(
    ds.records.map((r) => r.id),
    ['a.png', 'sub/b.jpg'],
  );
  assert.deepEqual(byId(ds, 'a.png').captions, ['a green square', 'a square, green']);
  assert.equal(byId(ds, 'sub/b.jpg').classId, 'a purple circle');
  assert.deepEqual(reasons(ds.problems), ['caption-without-image orphan.txt', 'empty-captions c.png']);

  const broken = await readCustom(fx('broken'));
  assert.deepEqual(
    broken.records.map((r) => r.id),
    ['good.png', 'not-an-image.jpg'],
  );
  assert.deepEqual(broken.problems, []);
});

test('wrong roots give errors naming the path and the expected layout', async () => {
  const nowhere = path.join(tmp, 'does-not-exist');
  for (const read of [readAnimeFaces, readCub, readOxford102, readCustom]) {
    await assert.rejects(read(nowhere), (e: Error) => {
      assert.ok(e.message.includes(nowhere), e.message);
      assert.match(e.message, /Expected (layout|one of)/);
      return true;
    });
  }
  const empty = fs.mkdtempSync(path.join(tmp, 'empty-'));
  await assert.rejects(readAnimeFaces(empty), /no tags\.csv.*images\/N\.jpg/s);
  await assert.rejects(readCub(empty), new RegExp(`${path.join(empty, 'CUB_200_2011').replace(/[.]/g, '\\.')}`));
  await assert.rejects(readCub(fx('cub-mini/CUB_200_2011')), /pass its parent/);
  await assert.rejects(readOxford102(fx('cub-mini')), /oxford-102: folder not found: .*jpg/);
  await assert.rejects(readCustom(empty), /captions\.jsonl.*captions\.csv.*\.txt/s);
  const noText = path.join(tmp, 'cub-no-text');
  fs.cpSync(fx('cub-mini/CUB_200_2011'), path.join(noText, 'CUB_200_2011'), { recursive: true });
  await assert.rejects(readCub(noText), /no caption folder.*text_c10.*text/s);
  const badCsv = fs.mkdtempSync(path.join(tmp, 'csv-'));
  fs.writeFileSync(path.join(badCsv, 'captions.csv'), 'file,text\na.png,hello\n');
  await assert.rejects(readCustom(badCsv), /header naming the columns image and caption/);
});

test('shapes: deterministic records and pixels, seeds differ, prefixes agree', () => {
  const a = makeShapes({ count: 50, seed: 7 });
  const b = makeShapes({ count: 50, seed: 7 });
  const c = makeShapes({ count: 50, seed: 8 });
  const strip = (ds: DatasetSource): unknown => ds.records.map(({ image: _image, ...rest }) => rest);
  assert.deepEqual(strip(a), strip(b));
  assert.notDeepEqual(strip(a), strip(c));
  assert.deepEqual(strip(makeShapes({ count: 10, seed: 7 })), (strip(a) as unknown[]).slice(0, 10));
  const render = (r: Record, size: number): Uint8Array => {
    assert.equal(r.image.kind, 'render');
    return (r.image as { kind: 'render'; render: (s: number) => Uint8Array }).render(size);
  };
  let differs = 0;
  for (let i = 0; i < 50; i++) {
    const pa = render(a.records[i] as Record, 32);
    assert.equal(pa.length, 32 * 32 * 3);
    assert.deepEqual(pa, render(b.records[i] as Record, 32));
    if (Buffer.compare(Buffer.from(pa), Buffer.from(render(c.records[i] as Record, 32))) !== 0) differs++;
  }
  assert.ok(differs > 40, `only ${differs} of 50 renders differ between seeds`);
  assert.equal(a.name, 'shapes');
  assert.equal(a.root, undefined);
  assert.equal(new Set(a.records.map((r) => r.id)).size, 50);
});

test('shapes: caption grammar, classIds, paraphrases and drawn colours', () => {
  const ds = makeShapes({ count: 400, seed: 1 });
  const obj = '(small|large) (red|green|blue|yellow|purple|white) (circle|square|triangle)';
  const rel = '(above|below|left of|right of)';
  const grammar = [
    new RegExp(`^a ${obj}$`),
    new RegExp(`^(there is a|a single) ${obj}$`),
    new RegExp(`^a ${obj} on a dark background$`),
    new RegExp(`^(there is )?a ${obj} (is )?${rel} a ${obj}$`),
    new RegExp(`^a ${obj} with a ${obj} ${rel} it$`),
  ];
  const counts = new Set<number>();
  let single = 0;
  for (const r of ds.records) {
    assert.ok(r.captions.length >= 1 && r.captions.length <= 3);
    counts.add(r.captions.length);
    assert.equal(new Set(r.captions).size, r.captions.length);
    for (const cap of r.captions)
      assert.ok(
        grammar.some((g) => g.test(cap)),
        cap,
      );
    // classId = first caption without sizes and relation.
    const parts = (r.captions[0] as string).split(/ (?:above|below|left of|right of) /);
    const expected = parts.map((p) => p.replace(/^a (small|large) /, '')).join('|');
    assert.equal(r.classId, expected);
    if (parts.length === 1) single++;
  }
  assert.deepEqual([...counts].sort(), [1, 2, 3]);
  assert.ok(single > 80 && single < 220, `${single} single-shape scenes of 400`);

  // The pixels match the caption: the shapes' colours are drawn on the dark grey background.
  const rec = ds.records.find((r) => r.captions[0] === `a ${r.attributes?.size} red ${r.attributes?.shape}`);
  assert.ok(rec, 'a single red shape among 400 scenes');
  const px = (rec.image as { kind: 'render'; render: (s: number) => Uint8Array }).render(64);
  const colours = new Set<string>();
  for (let p = 0; p < 64 * 64; p++) colours.add(`${px[3 * p]},${px[3 * p + 1]},${px[3 * p + 2]}`);
  assert.deepEqual([...colours].sort(), [SHAPES_BACKGROUND.join(','), '220,40,40'].sort());
  // A relation is visible: for "X above Y" the first object's colour has a smaller mean row.
  const above = ds.records.find(
    (r) => r.attributes?.relation === 'above' && r.attributes.colour !== r.attributes.colour2,
  );
  assert.ok(above);
  const img = (above.image as { kind: 'render'; render: (s: number) => Uint8Array }).render(64);
  const rgb = {
    red: '220,40,40',
    green: '40,180,60',
    blue: '50,90,230',
    yellow: '235,210,40',
    purple: '150,60,190',
    white: '240,240,240',
  };
  const meanRow = (colour: string): number => {
    let sum = 0;
    let n = 0;
    for (let p = 0; p < 64 * 64; p++)
      if (`${img[3 * p]},${img[3 * p + 1]},${img[3 * p + 2]}` === rgb[colour as keyof typeof rgb]) {
        sum += Math.floor(p / 64);
        n++;
      }
    assert.ok(n > 0, `no ${colour} pixels`);
    return sum / n;
  };
  assert.ok(meanRow(above.attributes?.colour as string) < meanRow(above.attributes?.colour2 as string));
  assert.throws(() => makeShapes({ count: -1, seed: 0 }), /count/);
});

test('openDataset: specs and layout detection', async () => {
  const shapes = await openDataset('shapes:12');
  assert.equal(shapes.records.length, 12);
  assert.equal((await openDataset('shapes')).records.length, 10000);
  assert.deepEqual(
    (await openDataset('shapes:5:3')).records.map((r) => r.captions),
    makeShapes({ count: 5, seed: 3 }).records.map((r) => r.captions),
  );
  await assert.rejects(openDataset('shapes:lots'), /shapes\[:count/);
  assert.equal((await openDataset(`anime-faces:${fx('anime-hw32')}`)).records.length, 4);
  assert.equal((await openDataset(`cub:${fx('cub-mini')}`)).name, 'cub');
  assert.equal((await openDataset(`oxford-102:${fx('oxford-mini')}`)).name, 'oxford-102');
  assert.equal((await openDataset(`custom:${fx('custom-csv')}`)).name, 'custom');
  const detected: { [dir: string]: string } = {
    'anime-hw32': 'anime-faces',
    'anime-original': 'anime-faces',
    'cub-mini': 'cub',
    'oxford-mini': 'oxford-102',
    'custom-jsonl': 'custom',
    'custom-csv': 'custom',
    'custom-txt': 'custom',
    broken: 'custom',
  };
  for (const [dir, name] of Object.entries(detected)) assert.equal((await openDataset(fx(dir))).name, name, dir);
  const empty = fs.mkdtempSync(path.join(tmp, 'undetectable-'));
  await assert.rejects(openDataset(empty), (e: Error) => {
    for (const s of ['anime-faces', 'cub', 'oxford-102', 'custom', 'tags.csv', 'CUB_200_2011/images.txt', 'text_c10'])
      assert.ok(e.message.includes(s), `${s} missing from: ${e.message}`);
    return true;
  });
  await assert.rejects(openDataset(path.join(tmp, 'nope')), /does not exist/);
  await assert.rejects(openDataset('cub:'), /cub:<dir>/);
});

test('cub-extra: labelled uncaptioned crops, missing files reported, every record for training', async () => {
  const dir = path.join(tmp, 'cub-extra');
  await makeCubExtra(dir, ['901.Alpha_Extra', '902.Beta_Extra'], 3, 1);
  const ds = await readCubExtra(dir);
  assert.equal(ds.name, 'cub-extra');
  assert.equal(ds.records.length, 6);
  assert.deepEqual([...new Set(ds.records.map((r) => r.classId))], ['901.Alpha_Extra', '902.Beta_Extra']);
  assert.ok(ds.records.every((r) => r.captions.length === 0 && r.bbox === undefined));
  assert.deepEqual(reasons(ds.problems), ['missing-image images/901.Alpha_Extra/Alpha_Extra_0003.jpg']);
  assert.equal((await openDataset(`cub-extra:${dir}`)).name, 'cub-extra');
  assert.equal((await openDataset(dir)).name, 'cub-extra', 'detected from images.txt beside images/');
  // Prepared: all training (these species are disjoint from the captioned ones); batches carry the
  // species and an empty caption.
  const out = path.join(tmp, 'cub-extra-cache');
  const c = await prepareCache(ds, { out, resolutions: [32] });
  assert.equal(c.manifest.split.method, 'classes:1,0');
  assert.deepEqual(c.manifest.split.counts, { train: 6, val: 0, test: 0 });
  const loader = new DataLoader(CacheReader.open(out), { batchSize: 4, resolutions: [32], workers: 0 });
  try {
    for await (const b of loader.epoch(0)) {
      assert.deepEqual(b.captions, ['', '', '', '']);
      assert.ok(b.classIds.every((x) => x.endsWith('_Extra')));
      assert.deepEqual(b.images.get(32)!.shape, [4, 3, 32, 32]);
      b.dispose();
    }
  } finally {
    await loader.close();
  }
  await assert.rejects(readCubExtra(path.join(tmp, 'nope')), /cub-extra/);
});

test(
  'real cub-extra copy (the other 150 species)',
  { skip: skipWithout('cub-extra') || skipWithout('cub') },
  async () => {
    const ds = await readCubExtra(sharedData('cub-extra'));
    assert.equal(ds.records.length, 8855);
    assert.deepEqual(ds.problems, [], describeProblems(ds.problems));
    const species = new Set(ds.records.map((r) => r.classId));
    assert.equal(species.size, 150);
    // None of them is one of the 50 captioned species.
    const captioned = new Set((await readCub(sharedData('cub'))).records.map((r) => r.classId));
    assert.deepEqual(
      [...species].filter((c) => captioned.has(c)),
      [],
    );
  },
);

test('real anime-faces copy', { skip: skipWithout('anime-faces') }, async () => {
  const ds = await readAnimeFaces(sharedData('anime-faces'));
  assert.ok(ds.records.length >= 34800 && ds.records.length < 34900, `${ds.records.length} records`);
  const hair = new Set(ds.records.map((r) => r.attributes?.hair));
  const eyes = new Set(ds.records.map((r) => r.attributes?.eyes));
  assert.equal(hair.size, 12, [...hair].join(' '));
  // The tag set names 11 eye colours; this copy uses 10 of them (no gray eyes).
  assert.ok(eyes.size === 10 || eyes.size === 11, [...eyes].join(' '));
  assert.equal(new Set(ds.records.map((r) => r.classId)).size, 113);
  assert.ok(ds.problems.every((p) => p.reason === 'bad-line'));
  assert.ok(ds.problems.length < 20, describeProblems(ds.problems));
});

test('real CUB copy (50 captioned classes)', { skip: skipWithout('cub') }, async () => {
  const ds = await readCub(sharedData('cub'));
  assert.equal(ds.records.length, 2933);
  assert.equal(new Set(ds.records.map((r) => r.classId)).size, 50);
  assert.ok(ds.records.every((r) => r.captions.length === 10 && r.bbox !== undefined));
  assert.deepEqual(ds.problems, [], describeProblems(ds.problems));
  assert.deepEqual(ds.absent, { classes: 150, images: 11788 - 2933 });
  assert.ok(ds.split);
  // The captioned classes are exactly the test side of the StackGAN/AttnGAN split.
  assert.equal(ds.split.test.length, 2933);
  assert.equal(ds.split.train.length, 0);
});
