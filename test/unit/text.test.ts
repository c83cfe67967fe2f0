// Text: the caption tokenizer, the word vocabulary (build order, encoding, padded int64 batches,
// save/load and corrupt files), and the anime-faces attribute tags (parsing, tag vocabulary,
// one-hot conditions, testing_tags.txt). No test may leave a tensor alive.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import { embedding } from '../../src/engine/functional.js';
import { liveTensors, tensor, tidy } from '../../src/engine/index.js';
import type { Record as DataRecord } from '../../src/data/types.js';
import {
  DEFAULT_MAX_LENGTH,
  EYE_COLOURS,
  HAIR_COLOURS,
  PAD_ID,
  TAG_VOCABULARY_VERSION,
  TagError,
  TagFileError,
  TagVocabulary,
  TOKENIZER_ID,
  UNK_ID,
  VOCABULARY_VERSION,
  Vocabulary,
  VocabularyError,
  parseTags,
  parseTagsFile,
  tokenize,
} from '../../src/text/index.js';
import { sharedData, skipWithout } from '../helpers/shared-data.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cai-text-'));
let liveAtStart = 0;
before(() => {
  liveAtStart = liveTensors();
});
after(() => {
  fs.rmSync(dir, { recursive: true, force: true });
  assert.equal(liveTensors(), liveAtStart, 'the text tests leaked tensors');
});

/** Runs fn and checks that it leaves the live-tensor count where it found it. */
function noLeaks(fn: () => void): void {
  const start = liveTensors();
  fn();
  assert.equal(liveTensors(), start, 'tensors leaked');
}

// ---- tokenizer -----------------------------------------------------------------------------------

describe('tokenize', () => {
  test('lowercases and splits on punctuation and spaces', () => {
    assert.deepEqual(tokenize('This bird has a BLUE crown, and   white wings.'), [
      'this',
      'bird',
      'has',
      'a',
      'blue',
      'crown',
      'and',
      'white',
      'wings',
    ]);
    assert.deepEqual(tokenize('black-and-white (mostly); small!!! bird?'), [
      'black',
      'and',
      'white',
      'mostly',
      'small',
      'bird',
    ]);
    assert.deepEqual(tokenize('a_b/c\\d&e'), ['a', 'b', 'c', 'd', 'e']);
  });

  test('keeps inner apostrophes, drops outer ones, maps typographic apostrophes', () => {
    assert.deepEqual(tokenize("This bird's beak; it's tiny"), ['this', "bird's", 'beak', "it's", 'tiny']);
    assert.deepEqual(tokenize("the tarsus' colour and 'quoted' words"), [
      'the',
      'tarsus',
      'colour',
      'and',
      'quoted',
      'words',
    ]);
    assert.deepEqual(tokenize('bird’s wings don`t ‘glow’'), ["bird's", 'wings', "don't", 'glow']);
    assert.deepEqual(tokenize("'' ' 's"), ['s']);
    assert.deepEqual(tokenize("rock''n roll"), ['rock', 'n', 'roll']);
  });

  test('numbers are words; decimal points and hyphens split them', () => {
    assert.deepEqual(tokenize('2 wings, 1st feather, 3.5cm, 10-12 spots'), [
      '2',
      'wings',
      '1st',
      'feather',
      '3',
      '5cm',
      '10',
      '12',
      'spots',
    ]);
  });

  test('Unicode: NFKC, composed accents, full-width letters, ligatures, other scripts', () => {
    assert.deepEqual(tokenize('Café NAÏVE'), ['café', 'naïve']);
    assert.deepEqual(tokenize('cafe\u0301'), ['café']); // decomposed é composes
    assert.deepEqual(tokenize('Ｂｌｕｅ ﬁnch x²'), ['blue', 'finch', 'x2']);
    assert.deepEqual(tokenize('ΠΟΥΛΊ Вишня'), ['πουλί', 'вишня']);
    assert.deepEqual(tokenize('红色的鸟, 青い鳥'), ['红色的鸟', '青い鳥']);
  });

  test('empty, blank and punctuation-only captions give no tokens', () => {
    assert.deepEqual(tokenize(''), []);
    assert.deepEqual(tokenize('   \t\n '), []);
    assert.deepEqual(tokenize('...,;!?-'), []);
    for (const t of tokenize('a , b . c')) assert.ok(t.length > 0);
  });

  test('control characters, invisible characters and emoji', () => {
    assert.deepEqual(tokenize('red\u0000bird\tblue\nwings\u0007\u001b[0m'), ['red', 'bird', 'blue', 'wings', '0m']);
    assert.deepEqual(tokenize('bi\u00ADrd zero\u200Bwidth join\u200Ded'), ['bird', 'zero', 'width', 'joined']);
    assert.deepEqual(tokenize('🐦 blue bird 👍🏽 ❤️ red\uFE0F 👩‍🔬'), ['blue', 'bird', 'red']);
    assert.deepEqual(tokenize('🐦🐦🐦'), []);
    assert.deepEqual(tokenize('a\uD800b \uDC00'), ['a', 'b']); // lone surrogates separate words
    assert.deepEqual(tokenize('\uFEFFbird'), ['bird']);
  });

  test('10,000-character inputs are handled quickly', () => {
    const words = 'the small bird, '.repeat(625); // 10,000 characters
    assert.equal(words.length, 10_000);
    const t0 = performance.now();
    const tokens = tokenize(words);
    assert.equal(tokens.length, 1875);
    assert.deepEqual(tokens.slice(0, 4), ['the', 'small', 'bird', 'the']);
    const one = tokenize('a'.repeat(10_000));
    assert.equal(one.length, 1);
    assert.equal(one[0]?.length, 10_000);
    assert.deepEqual(tokenize("'".repeat(10_000)), []);
    assert.deepEqual(tokenize("a'".repeat(5_000)), ["a'".repeat(4_999) + 'a']);
    assert.deepEqual(tokenize('🐦'.repeat(5_000)), []);
    assert.ok(performance.now() - t0 < 1_000, 'tokenizing 10,000-character inputs took over a second');
  });

  test('rejects non-strings', () => {
    assert.throws(() => tokenize(null as unknown as string), TypeError);
    assert.throws(() => tokenize(42 as unknown as string), /expects a string/);
  });
});

// ---- vocabulary ----------------------------------------------------------------------------------

const CAPTIONS = ['The bird is red.', 'the red bird', 'A bird!'];

describe('Vocabulary', () => {
  test('order: specials, then count descending, then alphabetical', () => {
    const v = Vocabulary.build(CAPTIONS);
    assert.deepEqual(v.tokens, ['<pad>', '<unk>', 'bird', 'red', 'the', 'a', 'is']);
    assert.equal(v.size, 7);
    assert.equal(PAD_ID, 0);
    assert.equal(UNK_ID, 1);
    assert.equal(v.idOf('bird'), 2);
    assert.equal(v.idOf('nothing'), UNK_ID);
    assert.equal(v.tokenOf(3), 'red');
    assert.throws(() => v.tokenOf(7), RangeError);
    assert.equal(v.count('bird'), 3);
    assert.equal(v.count('<pad>'), 0);
    assert.ok(v.has('is') && !v.has('Is'));
    // The same captions in another order give the same vocabulary.
    assert.deepEqual(Vocabulary.build([...CAPTIONS].reverse()).tokens, v.tokens);
  });

  test('minCount and maxSize', () => {
    assert.deepEqual(Vocabulary.build(CAPTIONS, { minCount: 2 }).tokens, ['<pad>', '<unk>', 'bird', 'red', 'the']);
    assert.deepEqual(Vocabulary.build(CAPTIONS, { minCount: 3 }).tokens, ['<pad>', '<unk>', 'bird']);
    assert.deepEqual(Vocabulary.build(CAPTIONS, { minCount: 4 }).tokens, ['<pad>', '<unk>']);
    assert.deepEqual(Vocabulary.build(CAPTIONS, { maxSize: 4 }).tokens, ['<pad>', '<unk>', 'bird', 'red']);
    assert.deepEqual(Vocabulary.build(CAPTIONS, { maxSize: 2 }).tokens, ['<pad>', '<unk>']);
    assert.throws(() => Vocabulary.build(CAPTIONS, { maxSize: 1 }), VocabularyError);
    assert.throws(() => Vocabulary.build(CAPTIONS, { minCount: 0 }), /minCount/);
    assert.throws(() => Vocabulary.build(CAPTIONS, { minCount: 1.5 }), /minCount/);
  });

  test('builds from any iterable, including an empty one', () => {
    function* gen() {
      yield 'blue bird';
      yield 'blue wings';
    }
    assert.deepEqual(Vocabulary.build(gen()).tokens, ['<pad>', '<unk>', 'blue', 'bird', 'wings']);
    assert.deepEqual(Vocabulary.build([]).tokens, ['<pad>', '<unk>']);
    assert.throws(() => Vocabulary.build(null as unknown as string[]), VocabularyError);
  });

  test('encode / decode round trip', () => {
    const v = Vocabulary.build(CAPTIONS);
    const e = v.encode('The RED bird!');
    assert.deepEqual(e, { ids: [4, 3, 2], length: 3, unknown: [], truncated: 0 });
    assert.equal(v.decode(e.ids), 'the red bird');
    assert.deepEqual(v.decodeTokens([2, 0, 0]), ['bird']);
    assert.equal(v.decode([2n, 1n, 0n]), 'bird <unk>');
    assert.throws(() => v.decode([99]), RangeError);
  });

  test('unknown words become <unk> and are reported once each', () => {
    const v = Vocabulary.build(CAPTIONS);
    const e = v.encode('the purple bird, purple x');
    assert.deepEqual(e.ids, [4, UNK_ID, 2, UNK_ID, UNK_ID]);
    assert.deepEqual(e.unknown, ['purple', 'x']);
    assert.equal(v.decode(e.ids), 'the <unk> bird <unk> <unk>');
  });

  test('empty captions encode as one <unk> with length 1', () => {
    const v = Vocabulary.build(CAPTIONS);
    for (const c of ['', '   ', '?!', '🐦'])
      assert.deepEqual(v.encode(c), { ids: [UNK_ID], length: 1, unknown: [], truncated: 0 });
  });

  test('long captions keep their first maxLength words', () => {
    const words = Array.from({ length: 25 }, (_, i) => `w${i}`);
    const v = Vocabulary.build([words.join(' ')]);
    const e = v.encode(words.join(' '));
    assert.equal(DEFAULT_MAX_LENGTH, 18);
    assert.equal(e.length, 18);
    assert.equal(e.truncated, 7);
    assert.deepEqual(v.decodeTokens(e.ids), words.slice(0, 18));
    assert.deepEqual(v.decodeTokens(v.encode(words.join(' '), { maxLength: 5 }).ids), words.slice(0, 5));
    assert.equal(v.encode(words.join(' '), { maxLength: Infinity }).length, 25);
    // Unknown words in the dropped part are not reported: the model never sees them.
    assert.deepEqual(v.encode('w0 w1 zz', { maxLength: 2 }).unknown, []);
    assert.throws(() => v.encode('a', { maxLength: 0 }), /maxLength/);
    assert.throws(() => v.encode('a', { maxLength: 2.5 }), /maxLength/);
  });

  test('encodeBatch: int64 ids padded with 0 and int64 lengths', () => {
    const v = Vocabulary.build(CAPTIONS);
    noLeaks(() => {
      const b = v.encodeBatch(['the red bird', '', 'a bird is the red bird a zebra'], { maxLength: 6 });
      try {
        assert.equal(b.ids.dtype, 'int64');
        assert.equal(b.lengths.dtype, 'int64');
        assert.deepEqual(b.ids.shape, [3, 6]);
        assert.deepEqual(b.lengths.shape, [3]);
        assert.deepEqual(b.ids.toArray(), [
          [4, 3, 2, 0, 0, 0],
          [1, 0, 0, 0, 0, 0],
          [5, 2, 6, 4, 3, 2],
        ]);
        assert.deepEqual(b.lengths.toArray(), [3, 1, 6]);
        assert.deepEqual(b.unknown, [[], [], []]);
        const row = b.ids.select(0, 0);
        assert.equal(v.decode(row), 'the red bird');
        row.dispose();
      } finally {
        b.ids.dispose();
        b.lengths.dispose();
      }
    });
  });

  test('encodeBatch: width is the longest caption (at least 1, at least padTo), unknown per caption', () => {
    const v = Vocabulary.build(CAPTIONS);
    noLeaks(() =>
      tidy(() => {
        const one = v.encodeBatch(['']);
        assert.deepEqual(one.ids.toArray(), [[1]]);
        assert.deepEqual(one.lengths.toArray(), [1]);
        const wide = v.encodeBatch(['bird', 'red owl'], { padTo: 4 });
        assert.deepEqual(wide.ids.toArray(), [
          [2, 0, 0, 0],
          [3, 1, 0, 0],
        ]);
        assert.deepEqual(wide.unknown, [[], ['owl']]);
        // The padded batch feeds an embedding directly (ids as int64 indices).
        const emb = embedding(wide.ids, tensor([[0], [1], [2], [3], [4], [5], [6]]), PAD_ID);
        assert.deepEqual(emb.shape, [2, 4, 1]);
        assert.deepEqual(emb.toArray(), [
          [[2], [0], [0], [0]],
          [[3], [1], [0], [0]],
        ]);
      }),
    );
    assert.throws(() => v.encodeBatch([]), /at least one caption/);
    assert.throws(() => v.encodeBatch(['a'], { padTo: 0 }), /padTo/);
    assert.throws(() => v.encodeBatch('a' as unknown as string[]), /array/);
  });

  test('decode accepts a 1-d integer tensor only', () => {
    const v = Vocabulary.build(CAPTIONS);
    noLeaks(() =>
      tidy(() => {
        assert.equal(v.decode(tensor([2, 3, 0], { dtype: 'int32' })), 'bird red');
        assert.throws(() => v.decode(tensor([[2]], { dtype: 'int64' })), /1-d/);
        assert.throws(() => v.decode(tensor([2.5])), /integer tensor/);
      }),
    );
  });

  test('save / load round trip', () => {
    const v = Vocabulary.build([...CAPTIONS, "the bird's café"]);
    const file = path.join(dir, 'vocab.json');
    v.save(file);
    const json = JSON.parse(fs.readFileSync(file, 'utf8')) as { version: number; tokenizer: string };
    assert.equal(json.version, VOCABULARY_VERSION);
    assert.equal(json.tokenizer, TOKENIZER_ID);
    const w = Vocabulary.load(file);
    assert.deepEqual(w.tokens, v.tokens);
    assert.equal(w.count('bird'), v.count('bird'));
    assert.deepEqual(w.encode("The bird's café"), v.encode("The bird's café"));
    assert.deepEqual(Vocabulary.fromJSON(JSON.parse(JSON.stringify(v))).tokens, v.tokens);
  });

  test('load: clear errors for missing, corrupt and wrong-version files', () => {
    const good = Vocabulary.build(CAPTIONS).toJSON();
    const write = (name: string, text: string) => {
      const f = path.join(dir, name);
      fs.writeFileSync(f, text);
      return f;
    };
    const variant = (patch: object) => JSON.stringify({ ...good, ...patch });
    const missing = path.join(dir, 'nope.json');
    assert.throws(
      () => Vocabulary.load(missing),
      (e: Error) => {
        assert.ok(e instanceof VocabularyError);
        assert.match(e.message, /vocabulary file not found/);
        assert.ok(e.message.includes(missing));
        return true;
      },
    );
    const truncated = write('truncated.json', JSON.stringify(good).slice(0, 40));
    assert.throws(() => Vocabulary.load(truncated), /corrupt vocabulary file .*truncated\.json: not valid JSON/);
    assert.throws(() => Vocabulary.load(write('empty.json', '')), /not valid JSON/);
    assert.throws(
      () => Vocabulary.load(write('v2.json', variant({ version: 2 }))),
      (e: Error) => {
        assert.match(e.message, /v2\.json: unsupported vocabulary version 2: this build reads version 1/);
        return true;
      },
    );
    assert.throws(() => Vocabulary.load(write('noversion.json', variant({ version: undefined }))), /version undefined/);
    assert.throws(() => Vocabulary.load(write('format.json', variant({ format: 'x' }))), /not a vocabulary/);
    assert.throws(() => Vocabulary.load(write('array.json', '[1,2]')), /not a vocabulary/);
    assert.throws(() => Vocabulary.load(write('tok.json', variant({ tokenizer: 'old' }))), /tokenizer "old"/);
    assert.throws(
      () => Vocabulary.load(write('specials.json', variant({ tokens: ['<unk>', '<pad>', 'a'], counts: [0, 0, 1] }))),
      /token 0 must be <pad>/,
    );
    assert.throws(
      () => Vocabulary.load(write('dup.json', variant({ tokens: ['<pad>', '<unk>', 'a', 'a'], counts: [0, 0, 1, 1] }))),
      /"a" appears twice/,
    );
    assert.throws(() => Vocabulary.load(write('tokens.json', variant({ tokens: 'abc' }))), /"tokens" must be/);
    assert.throws(() => Vocabulary.load(write('counts.json', variant({ counts: [0] }))), /"counts" must be/);
  });
});

// ---- tags ----------------------------------------------------------------------------------------

describe('parseTags', () => {
  test('both orders, punctuation, case and spacing variants', () => {
    const want = { hair: 'blue', eyes: 'red', unknown: [] };
    for (const text of [
      'blue hair red eyes',
      'red eyes, blue hair',
      '  Blue   HAIR,RED Eyes ',
      'blue hair; red eyes.',
      'BLUE\thair\nred eye',
      'blue-hair red-eyes',
    ])
      assert.deepEqual(parseTags(text), want, text);
  });

  test('one attribute, aliases, nothing', () => {
    assert.deepEqual(parseTags('blue hair'), { hair: 'blue', unknown: [] });
    assert.deepEqual(parseTags('yellow eyes'), { eyes: 'yellow', unknown: [] });
    assert.deepEqual(parseTags('Grey hair blond hair'), { hair: 'gray', unknown: ['blond hair'] });
    assert.deepEqual(parseTags('blond hair grey eyes'), { hair: 'blonde', eyes: 'gray', unknown: [] });
    assert.deepEqual(parseTags(''), { unknown: [] });
  });

  test('unknown colours, misplaced colours, stray words and conflicts are reported', () => {
    assert.deepEqual(parseTags('silver hair red eyes'), { eyes: 'red', unknown: ['silver hair'] });
    assert.deepEqual(parseTags('blonde eyes'), { unknown: ['blonde eyes'] }); // blonde is a hair colour only
    assert.deepEqual(parseTags('white eyes'), { unknown: ['white eyes'] });
    assert.deepEqual(parseTags('blue hair red eyes smile'), { hair: 'blue', eyes: 'red', unknown: ['smile'] });
    assert.deepEqual(parseTags('blue hair red hair blue hair'), { hair: 'blue', unknown: ['red hair'] });
    assert.deepEqual(parseTags('hair blue'), { unknown: ['hair', 'blue'] });
    assert.throws(() => parseTags(undefined as unknown as string), TagError);
  });

  const TAGS_CSV = sharedData('anime-faces', 'tags.csv');
  test('every line of the dataset parses; its colour sets', { skip: skipWithout('anime-faces', 'tags.csv') }, () => {
    const hair = new Set<string>();
    const eyes = new Set<string>();
    const lines = fs
      .readFileSync(TAGS_CSV, 'utf8')
      .split('\n')
      .filter((l) => l.trim() !== '');
    for (const line of lines) {
      const p = parseTags(line.slice(line.indexOf(',') + 1));
      assert.deepEqual(p.unknown, [], line);
      hair.add(p.hair as string);
      eyes.add(p.eyes as string);
    }
    assert.deepEqual([...hair].sort(), [...HAIR_COLOURS]);
    assert.deepEqual(
      [...eyes].sort(),
      EYE_COLOURS.filter((c) => c !== 'gray'),
    ); // no gray eyes in the data
    assert.equal(parseTagsFile(fs.readFileSync(TAGS_CSV, 'utf8')).length, lines.length);
  });
});

describe('TagVocabulary', () => {
  const tags = TagVocabulary.known();

  test('known colours, indices, sizes', () => {
    assert.deepEqual(tags.hair, HAIR_COLOURS);
    assert.deepEqual(tags.eyes, EYE_COLOURS);
    assert.equal(tags.nHair, 12);
    assert.equal(tags.nEyes, 11);
    assert.equal(tags.size, 23);
    assert.equal(tags.comboCount, 132);
    assert.deepEqual(tags.encode({ hair: 'blue', eyes: 'red' }), { hair: 3, eyes: 9 });
    assert.deepEqual(tags.encode('Red eyes, BLUE hair'), { hair: 3, eyes: 9 });
    assert.deepEqual(tags.encode({ hair: 'Grey', eyes: 'aqua' }), { hair: 5, eyes: 0 });
    assert.equal(tags.format({ hair: 'blond', eyes: 'yellow' }), 'blonde hair yellow eyes');
  });

  test('errors name the unknown colour and list the valid ones', () => {
    assert.throws(
      () => tags.encode({ hair: 'silver', eyes: 'red' }),
      (e: Error) => {
        assert.ok(e instanceof TagError);
        assert.equal(
          e.message,
          'unknown hair colour "silver" (valid hair colours: aqua, black, blonde, blue, brown, gray, green, orange, pink, purple, red, white)',
        );
        return true;
      },
    );
    assert.throws(
      () => tags.encode({ hair: 'blue', eyes: 'blonde' }),
      /unknown eye colour "blonde" \(valid eye colours: aqua, .*, yellow\)/,
    );
    assert.throws(() => tags.encode('silver hair red eyes'), /unknown hair colour "silver" \(valid hair colours: aqua/);
    assert.throws(() => tags.encode('blue hair red eyes smiling'), /unexpected word "smiling"/);
    assert.throws(() => tags.encode('blue hair'), /no eye colour/);
    assert.throws(() => tags.encode({ eyes: 'red' }), /no hair colour/);
    assert.throws(() => tags.encode(null as unknown as string), /expected tag text/);
  });

  test('oneHot: float32 [B, nHair + nEyes], one 1 per attribute', () => {
    noLeaks(() => {
      const t = tags.oneHot(['blue hair red eyes', { hair: 'white', eyes: 'yellow' }, { hair: 'aqua', eyes: 'aqua' }]);
      try {
        assert.equal(t.dtype, 'float32');
        assert.deepEqual(t.shape, [3, 23]);
        const rows = t.toArray() as number[][];
        const ones = rows.map((r) => r.flatMap((x, i) => (x === 1 ? [i] : [])));
        assert.deepEqual(ones, [
          [3, 12 + 9],
          [11, 12 + 10],
          [0, 12],
        ]);
        for (const r of rows)
          assert.equal(
            r.reduce((a, b) => a + b, 0),
            2,
          );
      } finally {
        t.dispose();
      }
      const none = tags.oneHot([]);
      assert.deepEqual(none.shape, [0, 23]);
      none.dispose();
      assert.throws(() => tags.oneHot([{ hair: 'blue', eyes: 'silver' }]), /unknown eye colour "silver"/);
    });
  });

  test('combination index: hair × nEyes + eyes, a bijection', () => {
    assert.equal(tags.comboIndex({ hair: 'blue', eyes: 'red' }), 3 * 11 + 9);
    assert.equal(tags.comboIndex('aqua hair aqua eyes'), 0);
    assert.equal(tags.comboIndex('white hair yellow eyes'), 131);
    const seen = new Set<number>();
    for (let i = 0; i < tags.comboCount; i++) {
      const c = tags.combo(i);
      assert.equal(tags.comboIndex(c), i);
      seen.add(tags.comboIndex(c));
    }
    assert.equal(seen.size, 132);
    assert.throws(() => tags.combo(132), RangeError);
    assert.throws(() => tags.combo(-1), RangeError);
  });

  test('fromRecords: the colours present, alphabetically', () => {
    const image = { kind: 'file' as const, path: 'x.jpg' };
    const records: DataRecord[] = [
      { id: '0', image, captions: ['red hair blue eyes'], classId: 'a', attributes: { hair: 'red', eyes: 'blue' } },
      { id: '1', image, captions: ['Grey hair red eyes'], classId: 'b', attributes: { hair: 'Grey', eyes: 'red' } },
      { id: '2', image, captions: ['x'], classId: 'c' },
    ];
    const v = TagVocabulary.fromRecords(records);
    assert.deepEqual(v.hair, ['gray', 'red']);
    assert.deepEqual(v.eyes, ['blue', 'red']);
    assert.deepEqual(v.encode(records[1]?.attributes ?? {}), { hair: 0, eyes: 1 });
    assert.throws(() => v.encode({ hair: 'blue', eyes: 'red' }), /valid hair colours: gray, red\)/);
    assert.throws(() => TagVocabulary.fromRecords([]), /no records with hair/);
    assert.throws(() => new TagVocabulary(['blue', 'blue'], ['red']), /listed twice/);
    assert.throws(() => new TagVocabulary(['Blue'], ['red']), /single lowercase word/);
    assert.throws(() => new TagVocabulary([], ['red']), /non-empty/);
  });

  test('save / load round trip and bad files', () => {
    const file = path.join(dir, 'tags.json');
    tags.save(file);
    const json = JSON.parse(fs.readFileSync(file, 'utf8')) as { version: number };
    assert.equal(json.version, TAG_VOCABULARY_VERSION);
    const back = TagVocabulary.load(file);
    assert.deepEqual(back.hair, tags.hair);
    assert.deepEqual(back.eyes, tags.eyes);
    const write = (name: string, text: string) => {
      const f = path.join(dir, name);
      fs.writeFileSync(f, text);
      return f;
    };
    assert.throws(() => TagVocabulary.load(path.join(dir, 'none.json')), /tag vocabulary file not found/);
    assert.throws(
      () => TagVocabulary.load(write('t-bad.json', '{"format":')),
      /corrupt tag vocabulary file .*not valid JSON/,
    );
    assert.throws(
      () => TagVocabulary.load(write('t-v9.json', JSON.stringify({ ...tags.toJSON(), version: 9 }))),
      /t-v9\.json: unsupported tag vocabulary version 9: this build reads version 1/,
    );
    assert.throws(
      () => TagVocabulary.load(write('t-eyes.json', JSON.stringify({ ...tags.toJSON(), eyes: 'red' }))),
      /corrupt tag vocabulary: eye colours must be a non-empty array/,
    );
    assert.throws(() => TagVocabulary.load(write('t-fmt.json', '{}')), /not a tag vocabulary/);
  });
});

describe('parseTagsFile', () => {
  test('lines "id,<colour> hair <colour> eyes", blank lines skipped, either order, CRLF and BOM', () => {
    const text = '\uFEFF1,blue hair red eyes\n\n2,red eyes blonde hair\r\n  \r\n3, Grey hair, aqua eyes \n';
    assert.deepEqual(parseTagsFile(text), [
      { id: '1', hair: 'blue', eyes: 'red', line: 1 },
      { id: '2', hair: 'blonde', eyes: 'red', line: 3 },
      { id: '3', hair: 'gray', eyes: 'aqua', line: 5 },
    ]);
    assert.deepEqual(parseTagsFile(''), []);
  });

  test('bad lines are all reported with their line numbers', () => {
    const text = [
      '1,blue hair red eyes',
      '2 blue hair red eyes',
      '3,silver hair red eyes',
      '',
      '4,blue hair',
      '1,red hair red eyes',
      ',red hair red eyes',
      '5,blue hair red eyes wink',
    ].join('\n');
    assert.throws(
      () => parseTagsFile(text),
      (e: Error) => {
        assert.ok(e instanceof TagFileError);
        assert.deepEqual(
          e.problems.map((p) => p.line),
          [2, 3, 5, 6, 7, 8],
        );
        const msg = (line: number) => e.problems.find((p) => p.line === line)?.message ?? '';
        assert.match(msg(2), /expected "id,<colour> hair <colour> eyes" but found "2 blue hair red eyes"/);
        assert.match(msg(3), /unknown hair colour "silver" \(valid hair colours: aqua, .*white\)/);
        assert.match(msg(5), /no eye colour/);
        assert.match(msg(6), /id "1" already used on line 1/);
        assert.match(msg(7), /expected "id,/);
        assert.match(msg(8), /unexpected word "wink"/);
        assert.match(e.message, /^6 bad line\(s\) in the tags file:\n {2}line 2: /);
        return true;
      },
    );
  });
});
