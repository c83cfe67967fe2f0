// The web page and the Real-or-Fake game in a real browser: headless Chromium (Debian's, through
// playwright-core) against the app started in this process on the bundled models. Screenshots
// go to test-artifacts/; docs/images/web.png (the README's picture) is written when it is missing or
// when UPDATE_DOCS_IMAGES=1.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import type { FastifyInstance } from 'fastify';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';

import { LocalGenerationService, ModelRegistry, PACKAGE_ROOT, buildApp } from '../../src/server/index.js';
import { exportTinyAttnGan } from '../helpers/tiny-attngan.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const SKIP = fs.existsSync(CHROMIUM)
  ? false
  : `no Chromium at ${CHROMIUM}: install it with \`apt-get install chromium\` (or set CHROMIUM_PATH)`;
const ARTIFACTS = path.join(PACKAGE_ROOT, 'test-artifacts');
const DOCS_IMAGE = path.join(PACKAGE_ROOT, 'docs/images/web.png');

// The default bird model: the page opens with it (the first model by name).
const BIRDS = 'dfgan-cub';
const FACES = 'tag-gan-anime';
const CAPTION = 'this bird is red with white and has a very short beak';

describe('web page', { skip: SKIP }, () => {
  let app: FastifyInstance;
  let service: LocalGenerationService;
  let browser: Browser;
  let desktop: BrowserContext;
  let base: string;
  let tmp: string;

  before(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'creativeai-web-'));
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    service = new LocalGenerationService(new ModelRegistry([path.join(PACKAGE_ROOT, 'models')]));
    app = await buildApp({ service, game: { statsFile: path.join(tmp, 'game-stats.json') } });
    await app.listen({ port: 0, host: '127.0.0.1' });
    const address = app.server.address();
    assert.ok(address !== null && typeof address === 'object');
    base = `http://127.0.0.1:${address.port}`;
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox'] });
    desktop = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  });

  after(async () => {
    await browser?.close();
    await app?.close();
    await service?.close();
    if (tmp !== undefined) fs.rmSync(tmp, { recursive: true, force: true });
  });

  const consoleErrors = new WeakMap<Page, string[]>();

  /** Opens a page and waits for its first render (and the generation a shared URL starts). */
  async function open(url: string, context = desktop): Promise<Page> {
    const page = await context.newPage();
    const problems: string[] = [];
    consoleErrors.set(page, problems);
    page.on('pageerror', (e) => problems.push(e.message));
    page.on('console', (m) => {
      // Error answers (400 for a bad tag text) are logged by Chromium itself; they are expected.
      if (m.type() === 'error' && !/Failed to load resource/.test(m.text())) problems.push(m.text());
    });
    await page.goto(base + url);
    await page.waitForSelector('body[data-ready]');
    return page;
  }

  /** Closes a page opened by open(), checking that its scripts reported no errors. */
  async function close(page: Page): Promise<void> {
    await page.close();
    assert.deepEqual(consoleErrors.get(page), [], 'errors in the browser console');
  }

  /** Submits the generate form with Enter in the caption (or `click`s a button) and waits for the answer. */
  async function generate(page: Page, click?: string): Promise<void> {
    if (click === undefined) await page.getByLabel('Caption', { exact: true }).press('Enter');
    else await page.click(click);
    await page.waitForSelector('#generate:enabled');
  }

  async function imageSources(page: Page): Promise<string[]> {
    return page.locator('#results img').evaluateAll((imgs) => imgs.map((i) => (i as HTMLImageElement).src));
  }

  const png = (dataUrl: string): Buffer => {
    assert.match(dataUrl, /^data:image\/png;base64,/);
    return Buffer.from(dataUrl.slice(dataUrl.indexOf(',') + 1), 'base64');
  };

  test('generate shows the image with a PNG download link, and Enter submits', async () => {
    const page = await open('/');
    assert.equal(await page.locator('input[name=model]').count(), 11);
    await page.getByLabel('Caption', { exact: true }).fill(CAPTION);
    await page.getByLabel('Seed', { exact: true }).fill('1234');
    await generate(page);
    const [src] = await imageSources(page);
    assert.ok(src !== undefined, 'an image is shown');
    const bytes = png(src);
    assert.equal(bytes.readUInt32BE(16), 64, 'a 64-pixel-wide PNG');
    assert.equal(await page.locator('#results img').evaluate((i) => (i as HTMLImageElement).naturalWidth), 64);
    const link = page.locator('#results a[download]').first();
    assert.equal(await link.getAttribute('href'), src);
    assert.match((await link.getAttribute('download')) ?? '', /^creativeai-dfgan-cub-1234-.*\.png$/);
    const url = new URL(page.url());
    assert.equal(url.searchParams.get('model'), BIRDS);
    assert.equal(url.searchParams.get('text'), CAPTION);
    assert.equal(url.searchParams.get('seed'), '1234');
    assert.equal(await page.locator('#error').isVisible(), false);

    await page.getByLabel('Samples', { exact: true }).fill('6');
    await generate(page, '#generate');
    const six = await imageSources(page);
    assert.equal(six.length, 6);
    assert.equal(new Set(six).size, 6, 'six different images');
    assert.equal(new URL(page.url()).searchParams.get('count'), '6');
    await page.screenshot({ path: path.join(ARTIFACTS, 'web-generate.png'), fullPage: true });
    await close(page);
  });

  test("a first visit shows the first example's image; an address with an empty text does not", async () => {
    const page = await open('/');
    const text = await page.getByLabel('Caption', { exact: true }).inputValue();
    assert.notEqual(text, '');
    assert.equal((await imageSources(page)).length, 1, 'an image on first load');
    assert.match((await page.locator('.result-meta').textContent()) ?? '', new RegExp(text));
    await close(page);
    const empty = await open('/?text=');
    assert.equal((await imageSources(empty)).length, 0);
    await close(empty);
  });

  test('small images are shown at 256 px as pixels, the caption giving their true size', async () => {
    const page = await open(`/?model=${FACES}&text=blue+hair+red+eyes&seed=3&count=3`);
    const widths = await page
      .locator('#results img')
      .evaluateAll((imgs) => imgs.map((i) => [i.getBoundingClientRect().width, getComputedStyle(i).imageRendering]));
    assert.equal(widths.length, 3);
    for (const [w, rendering] of widths) {
      assert.ok((w as number) >= 256, `drawn ${w} px wide`);
      assert.equal(rendering, 'pixelated');
    }
    assert.match((await page.locator('#results figcaption').first().textContent()) ?? '', /64×64 \(shown ×4\)/);
    await close(page);
  });

  test('an error replaces the images of the request before it', async () => {
    const page = await open(`/?model=${FACES}&text=blue+hair+red+eyes&seed=3`);
    assert.equal((await imageSources(page)).length, 1);
    await page.getByLabel('Caption', { exact: true }).fill('blue hair');
    await generate(page);
    assert.match((await page.locator('#error').textContent()) ?? '', /no eye colour/);
    assert.equal((await imageSources(page)).length, 0, 'the old images are gone');
    await close(page);
  });

  test('the truncation slider reaches the API, the result and the shared link', async () => {
    const page = await open(`/?model=${FACES}&text=blue+hair+red+eyes&seed=9`);
    await page.getByLabel(/^Truncation/).fill('0.5');
    assert.equal(await page.locator('#truncation-value').textContent(), '0.5');
    await generate(page, '#generate');
    const [src] = await imageSources(page);
    const api = await app.inject({
      method: 'POST',
      url: '/api/generate',
      payload: { model: FACES, text: 'blue hair red eyes', seed: 9, truncation: 0.5 },
    });
    assert.equal(src, api.json<{ stages: { images: string[] }[] }>().stages[0]!.images[0]);
    assert.match((await page.locator('.result-meta').textContent()) ?? '', /truncation 0\.5/);
    assert.equal(new URL(page.url()).searchParams.get('truncation'), '0.5');
    // Opening that link sets the slider and makes the same image.
    const again = await open(new URL(page.url()).pathname + new URL(page.url()).search);
    assert.equal(await again.locator('#truncation').inputValue(), '0.5');
    assert.deepEqual(await imageSources(again), [src]);
    await close(again);
    await close(page);
  });

  test("this session's results: a thumbnail per result, every image in one ZIP", async () => {
    const page = await open(`/?model=${FACES}&text=blue+hair+red+eyes&seed=1&count=2`);
    await page.getByLabel('Caption', { exact: true }).fill('green hair blue eyes');
    await generate(page);
    assert.equal(await page.locator('#gallery-list li').count(), 2);
    assert.match((await page.locator('#gallery-count').textContent()) ?? '', /^4 images/);
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#download-all')]);
    const file = path.join(tmp, 'session.zip');
    await download.saveAs(file);
    // unzip -t checks every stored file against its CRC-32.
    const { execFileSync } = await import('node:child_process');
    const tested = execFileSync('unzip', ['-t', file], { encoding: 'utf8' });
    assert.match(tested, /No errors detected/);
    const names = execFileSync('unzip', ['-Z1', file], { encoding: 'utf8' }).trim().split('\n');
    assert.equal(names.length, 4);
    for (const n of names) assert.match(n, /^0[12]-creativeai-tag-gan-anime-1-\d-64px\.png$/);
    // The newest thumbnail links to its result.
    const href = (await page.locator('#gallery-list a').first().getAttribute('href')) ?? '';
    assert.match(decodeURIComponent(href.replace(/\+/g, ' ')), /text=green hair blue eyes/);
    await close(page);
  });

  test('choosing another model changes the examples, the hint and the model card', async () => {
    const page = await open('/');
    const examples = () => page.locator('#examples button').allTextContents();
    assert.ok((await examples()).includes(CAPTION));
    assert.match((await page.locator('#card').textContent()) ?? '', /cub[\s\S]*R-precision/);
    assert.equal(
      await page.getByLabel('Caption', { exact: true }).inputValue(),
      CAPTION,
      'the first example is filled in',
    );

    await page.getByLabel(/Tag GAN/).check();
    const tagExamples = await examples();
    assert.ok(tagExamples.includes('blue hair red eyes'), tagExamples.join(' | '));
    assert.ok(!tagExamples.includes(CAPTION));
    assert.match((await page.locator('#hint').textContent()) ?? '', /<colour> hair <colour> eyes/);
    const card = (await page.locator('#card').textContent()) ?? '';
    // The measured figure as the card file has it (re-scoring a model changes it).
    const cardFile = JSON.parse(
      fs.readFileSync(path.join(PACKAGE_ROOT, 'models', 'tag-gan-anime.card.json'), 'utf8'),
    ) as { metrics: { name: string; value: string }[] };
    const hair = cardFile.metrics.find((m) => m.name === 'hair colour right')!.value;
    assert.match(hair, /^\d+\.\d%$/);
    for (const fact of [
      'Tag GAN',
      'anime',
      'hair colour right',
      hair,
      'CPU, 2 shared cores',
      '2,000',
      'Exported from',
      'runs/tag-gan-anime/checkpoints/step-00002000.safetensors',
    ])
      assert.ok(card.includes(fact), `the card shows ${fact}`);
    assert.equal(
      await page.getByLabel('Caption', { exact: true }).inputValue(),
      'blue hair red eyes',
      'the example follows the model',
    );

    // An example is a button: clicking it generates that caption.
    await page.locator('#examples button', { hasText: 'pink hair green eyes' }).click();
    await page.waitForSelector('#generate:enabled');
    assert.equal((await imageSources(page)).length, 1);
    assert.equal(new URL(page.url()).searchParams.get('text'), 'pink hair green eyes');
    assert.equal(new URL(page.url()).searchParams.get('model'), FACES);
    await close(page);
  });

  test('the same seed gives the same image bytes, also from the shared URL; a new seed changes them', async () => {
    const page = await open('/');
    await page.getByLabel('Caption', { exact: true }).fill('a small yellow bird with black wings');
    await page.getByLabel('Seed', { exact: true }).fill('42');
    await generate(page);
    const [first] = await imageSources(page);
    await generate(page, '#generate');
    const [again] = await imageSources(page);
    assert.ok(first !== undefined && again !== undefined);
    assert.deepEqual(png(again), png(first));

    const shared = await page.locator('#share').getAttribute('href');
    assert.ok(shared !== null);
    const opened = await open(shared);
    assert.equal(await opened.getByLabel('Seed', { exact: true }).inputValue(), '42');
    assert.equal(
      await opened.getByLabel('Caption', { exact: true }).inputValue(),
      'a small yellow bird with black wings',
    );
    const [fromLink] = await imageSources(opened);
    assert.ok(fromLink !== undefined, 'opening the link generates');
    assert.deepEqual(png(fromLink), png(first));
    await close(opened);

    await generate(page, '#new-seed');
    const seed = await page.getByLabel('Seed', { exact: true }).inputValue();
    assert.notEqual(seed, '42');
    assert.equal(new URL(page.url()).searchParams.get('seed'), seed);
    const [other] = await imageSources(page);
    assert.ok(other !== undefined);
    assert.notDeepEqual(png(other), png(first));
    await close(page);
  });

  test('interpolation shows every frame and the slider picks the one shown', async () => {
    const page = await open('/');
    await page.getByLabel('From', { exact: true }).fill('a red bird with black wings');
    await page.getByLabel('To', { exact: true }).fill('a blue bird with a white belly');
    await page.getByLabel('To', { exact: true }).press('Enter');
    await page.waitForSelector('#interp-result:not([hidden])');
    const strip = await page
      .locator('#interp-strip img')
      .evaluateAll((imgs) => imgs.map((i) => (i as HTMLImageElement).src));
    assert.equal(strip.length, 9);
    assert.notEqual(strip[0], strip[8], 'the path moves');
    const shown = () => page.locator('#interp-frame').getAttribute('src');
    assert.equal(await shown(), strip[0]);

    const slider = page.locator('#interp-slider');
    await slider.fill('5');
    assert.equal(await shown(), strip[5]);
    assert.equal(await page.locator('#interp-position').textContent(), 'Frame 6 of 9');
    await slider.press('ArrowRight');
    assert.equal(await shown(), strip[6]);
    assert.equal(await page.locator('#interp-download').getAttribute('href'), strip[6]);
    await page.getByRole('button', { name: 'Frame 9 of 9' }).click();
    assert.equal(await shown(), strip[8]);
    assert.equal(await slider.inputValue(), '8');
    await page.screenshot({ path: path.join(ARTIFACTS, 'web-interpolation.png'), fullPage: true });
    await close(page);
  });

  test('words the model does not know are named in a notice', async () => {
    const page = await open('/');
    await page.getByLabel('Caption', { exact: true }).fill('a zorglub bird with blue wings');
    await generate(page);
    const notice = page.locator('#notice');
    assert.ok(await notice.isVisible());
    assert.equal(await notice.textContent(), 'The model does not know: zorglub — that word was ignored.');
    assert.equal((await imageSources(page)).length, 1, 'the image is still made');
    await page.getByLabel('Caption', { exact: true }).fill(CAPTION);
    await generate(page);
    assert.equal(await notice.isVisible(), false, 'the notice goes with the next result');
    await close(page);
  });

  test('a tag text the tag model cannot read shows the server message', async () => {
    const direct = await app.inject({
      method: 'POST',
      url: '/api/generate',
      payload: { model: FACES, text: 'blue hair' },
    });
    assert.equal(direct.statusCode, 400);
    const message = (direct.json() as { message: string }).message;

    const page = await open(`/?model=${FACES}`);
    await page.getByLabel('Caption', { exact: true }).fill('blue hair');
    await generate(page);
    const error = page.locator('#error');
    assert.ok(await error.isVisible());
    const text = (await error.textContent()) ?? '';
    assert.ok(text.includes(message), `"${text}" includes "${message}"`);
    assert.match(text, /^Could not generate images: /);
    await page.screenshot({ path: path.join(ARTIFACTS, 'web-error.png') });

    // Checked in the page before asking: an out-of-range sample count.
    await page.getByLabel('Caption', { exact: true }).fill('blue hair red eyes');
    await page.getByLabel('Samples', { exact: true }).fill('17');
    await generate(page);
    assert.match((await error.textContent()) ?? '', /from 1 to 16/);
    await close(page);
  });

  test('a long request shows its progress and can be cancelled; the images on screen stay', async () => {
    const page = await open('/');
    await page.getByRole('radio', { name: /^StackGAN —/ }).check();
    await page.getByLabel('Caption', { exact: true }).fill(CAPTION);
    await page.getByLabel('Seed', { exact: true }).fill('7');
    await generate(page);
    const before = await imageSources(page);
    assert.ok(before.length > 0);
    assert.equal(await page.locator('#cancel').isVisible(), false, 'Cancel only while a request runs');

    // The job runs in slices of two StackGAN images: progress is shown between them. A fast machine
    // finishes all 16 before a click lands, so slices after the first wait here until Cancel is clicked.
    let release = (): void => {};
    const held = new Promise<void>((resolve) => (release = resolve));
    const generateNow = service.generate.bind(service);
    let slices = 0;
    service.generate = async (req) => {
      const result = await generateNow(req);
      if (req.rows !== undefined && ++slices > 1) await held;
      return result;
    };
    try {
      await page.getByLabel('Samples', { exact: true }).fill('16');
      await page.click('#generate');
      await page.waitForSelector('#cancel:visible');
      await page.waitForFunction(() => /Generating \d+\/16/.test(document.querySelector('#status')?.textContent ?? ''));
      await page.screenshot({ path: path.join(ARTIFACTS, 'web-progress.png') });
      await page.click('#cancel');
      await page.waitForSelector('#generate:enabled');
    } finally {
      release();
      service.generate = generateNow;
    }
    assert.equal(await page.locator('#status').textContent(), 'Cancelled.');
    assert.equal(await page.locator('#cancel').isVisible(), false);
    assert.deepEqual(await imageSources(page), before, 'the last finished images are still shown');
    assert.equal(await page.locator('#error').isVisible(), false);
    await close(page);
  });

  test('edit a face: from the result, along a tag direction, with ψ; an upload finds its latent; the link opens the edit', async () => {
    const page = await open(`/?model=${FACES}&text=${encodeURIComponent('red hair blue eyes')}&seed=9`);
    assert.equal(await page.locator('#edit').isVisible(), true, 'the tag model offers edits');
    const first = (await imageSources(page))[0]!;
    await page.click('#edit-from-result');
    await page.waitForFunction(() => /Drawn in/.test(document.querySelector('#edit-status')?.textContent ?? ''));
    assert.equal(await page.locator('#edit-source').getAttribute('src'), first);
    assert.equal(await page.locator('#edit-image').getAttribute('src'), first, 'no edit yet: the same face');

    // Hair all the way to green: the same image the tags "green hair blue eyes" give for this seed.
    const greenHair = await page.evaluate(async (m) => {
      const r = await fetch('/api/generate', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: m, text: 'green hair blue eyes', seed: 9 }),
      });
      return ((await r.json()) as { stages: { images: string[] }[] }).stages[0]!.images[0]!;
    }, FACES);
    await page.selectOption('#edit-direction', 'hair:green');
    await page.locator('#edit-strength').fill('1');
    await page.locator('#edit-strength').dispatchEvent('change');
    await page.waitForFunction(
      (src) => document.querySelector<HTMLImageElement>('#edit-image')?.src === src,
      greenHair,
    );
    await page.locator('#edit-psi').fill('0.5');
    await page.locator('#edit-psi').dispatchEvent('change');
    await page.waitForFunction(
      (src) => document.querySelector<HTMLImageElement>('#edit-image')?.src !== src,
      greenHair,
    );
    const edited = await page.locator('#edit-image').getAttribute('src');
    const href = await page.locator('#edit-link').getAttribute('href');
    const q = new URL(href!, base).searchParams;
    assert.equal(q.get('dir'), 'hair:green');
    assert.equal(q.get('strength'), '1');
    assert.equal(q.get('psi'), '0.5');
    assert.match(q.get('edit') ?? '', /^z1\./);
    await page.screenshot({ path: path.join(ARTIFACTS, 'web-edit.png'), fullPage: true });

    // The link opens the same edit.
    const shared = await open(href!);
    await shared.waitForFunction(() => /Drawn in/.test(document.querySelector('#edit-status')?.textContent ?? ''));
    assert.equal(await shared.locator('#edit-image').getAttribute('src'), edited);
    assert.equal(await shared.locator('#edit-source').getAttribute('src'), first);
    await close(shared);

    // An upload: its latent found with progress, the reconstruction and the upload side by side.
    await page.setInputFiles('#upload', { name: 'face.png', mimeType: 'image/png', buffer: png(first) });
    await page.locator('#upload-text').fill('red hair blue eyes');
    await page.click('#find-latent');
    await page.waitForFunction(
      () => /Latent found/.test(document.querySelector('#edit-status')?.textContent ?? ''),
      undefined,
      { timeout: 60_000 },
    );
    assert.equal(await page.locator('#edit-target').getAttribute('src'), first);
    assert.match((await page.locator('#edit-source-caption').textContent()) ?? '', /PSNR \d+\.\d dB/);
    // Not an image: the server's message, shown.
    await page.setInputFiles('#upload', {
      name: 'notes.png',
      mimeType: 'image/png',
      buffer: Buffer.from('not a picture'),
    });
    await page.click('#find-latent');
    await page.waitForSelector('#edit-error:not([hidden])');
    assert.match((await page.locator('#edit-error').textContent()) ?? '', /not an image/);
    await close(page);
  });

  test('Real or Fake?: rounds, the answer with its model, the score and the fool-rate table', async () => {
    const page = await open('/');
    await page.getByRole('link', { name: 'Real or Fake?' }).click();
    await page.waitForSelector('body[data-ready]');
    assert.equal(new URL(page.url()).pathname, '/game.html');

    // The answer names the model by its card's title, whichever bundled model the round drew.
    const titles = (await app.inject('/api/models')).json<{ models: { title: string }[] }>().models.map((m) => m.title);
    const rounds = 4;
    for (let i = 0; i < rounds; i++) {
      await page.waitForSelector('#guess-real:enabled');
      assert.match(
        (await page.locator('#game-image').getAttribute('src')) ?? '',
        /^data:image\/(png|jpeg|webp);base64,/,
      );
      await page.click(i % 2 === 0 ? '#guess-real' : '#guess-fake');
      await page.waitForSelector('#next:visible');
      assert.match((await page.locator('#verdict').textContent()) ?? '', /^(Right|Fooled|Wrong)!$/);
      const answer = (await page.locator('#answer').textContent()) ?? '';
      assert.ok(
        titles.some(
          (t) => answer.includes(`generated by ${t}.`) || answer.includes(`real image from the dataset of ${t}.`),
        ),
        answer,
      );
      assert.match((await page.locator('#score').textContent()) ?? '', new RegExp(`right out of ${i + 1}\\.$`));
      if (i === 0) await page.screenshot({ path: path.join(ARTIFACTS, 'game.png'), fullPage: true });
      if (i < rounds - 1) await page.click('#next');
    }
    // The table adds up to the rounds played (a fresh tallies file) and agrees with the API.
    const rows = await page.locator('#stats-body tr').evaluateAll((trs) =>
      trs.map((tr) => ({
        model: tr.getAttribute('data-model'),
        fakes: Number(tr.querySelector('[data-col=fakes]')?.textContent),
        reals: Number(tr.querySelector('[data-col=reals-called-fake]')?.textContent?.split(' of ')[1]),
      })),
    );
    assert.deepEqual(rows.map((r) => r.model).sort(), [
      'attngan-cub',
      BIRDS,
      'dfgan-cub-256',
      'gan-int-cls-cub',
      'stackgan-cub',
      'stackgan-pp-cub',
      'tag-acgan-anime',
      FACES,
      'tag-projection-anime',
      'wgan-cls-cub',
      'wgan-cls-stage2-cub',
    ]);
    assert.equal(
      rows.reduce((a, r) => a + r.fakes + r.reals, 0),
      rounds,
    );
    const stats = (await app.inject('/api/game/stats')).json() as { tallies: { model: string; fakes: number }[] };
    for (const t of stats.tallies) assert.equal(rows.find((r) => r.model === t.model)?.fakes, t.fakes);
    await close(page);
  });

  test('at 390 px wide nothing scrolls sideways', async () => {
    const phone = await browser.newContext({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 2 });
    try {
      const q = new URLSearchParams({ model: BIRDS, text: CAPTION, seed: '7', count: '16' });
      const page = await open(`/?${q.toString()}`, phone);
      assert.equal((await imageSources(page)).length, 16);
      await page.click('#interpolate');
      await page.waitForSelector('#interp-result:not([hidden])');
      const overflow = () =>
        page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
      assert.equal(await overflow(), 0, 'main page');
      await page.screenshot({ path: path.join(ARTIFACTS, 'web-390px.png'), fullPage: true });
      await page.goto(`${base}/game.html`);
      await page.waitForSelector('#guess-real:enabled');
      assert.equal(await overflow(), 0, 'game page');
      await page.screenshot({ path: path.join(ARTIFACTS, 'game-390px.png'), fullPage: true });
      await close(page);
    } finally {
      await phone.close();
    }
  });

  test('full-page screenshot after generating (docs/images/web.png)', async () => {
    const q = new URLSearchParams({ model: FACES, text: 'blue hair red eyes', seed: '2024', count: '8' });
    const page = await open(`/?${q.toString()}`);
    await page.getByLabel('From', { exact: true }).fill('blonde hair blue eyes');
    await page.getByLabel('To', { exact: true }).fill('pink hair green eyes');
    await page.click('#interpolate');
    await page.waitForSelector('#interp-result:not([hidden])');
    await page.locator('#interp-slider').fill('4');
    const shot = path.join(ARTIFACTS, 'web.png');
    await page.screenshot({ path: shot, fullPage: true });
    if (!fs.existsSync(DOCS_IMAGE) || process.env.UPDATE_DOCS_IMAGES === '1') fs.copyFileSync(shot, DOCS_IMAGE);
    await close(page);
  });
});

// AttnGAN's word attention: a tiny AttnGAN trained in before() (seconds), served next to the bundled
// models by an app of its own (the tests above count the bundled models).
describe('word attention on the web page', { skip: SKIP }, () => {
  let app: FastifyInstance;
  let service: LocalGenerationService;
  let browser: Browser;
  let base: string;
  let tmp: string | undefined;
  const ATTN = 'attngan-tiny';
  const TEXT = 'a small red circle';

  before(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'creativeai-web-attention-'));
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    await exportTinyAttnGan(path.join(tmp, 'work'), path.join(tmp, 'models'), ATTN);
    service = new LocalGenerationService(
      new ModelRegistry([path.join(tmp, 'models'), path.join(PACKAGE_ROOT, 'models')]),
    );
    app = await buildApp({ service, game: { statsFile: path.join(tmp, 'game-stats.json') } });
    await app.listen({ port: 0, host: '127.0.0.1' });
    const address = app.server.address();
    assert.ok(address !== null && typeof address === 'object');
    base = `http://127.0.0.1:${address.port}`;
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox'] });
  });

  after(async () => {
    await browser?.close();
    await app?.close();
    await service?.close();
    if (tmp !== undefined) fs.rmSync(tmp, { recursive: true, force: true });
  });

  /** Opens `url` in a new page of `context`; `problems` collects console errors and error answers. */
  async function open(context: BrowserContext, url: string): Promise<{ page: Page; problems: string[] }> {
    const page = await context.newPage();
    const problems: string[] = [];
    page.on('pageerror', (e) => problems.push(e.message));
    page.on('console', (m) => {
      // Chromium's own line for an error answer names no address: the answer itself is recorded below.
      if (m.type() === 'error' && !/Failed to load resource/.test(m.text())) problems.push(m.text());
    });
    page.on('response', (r) => {
      // (The page has no icon; whether Chromium asks for /favicon.ico depends on timing.)
      if (r.status() >= 400 && new URL(r.url()).pathname !== '/favicon.ico') problems.push(`${r.status()} ${r.url()}`);
    });
    await page.goto(base + url);
    await page.waitForSelector('body[data-ready]');
    return { page, problems };
  }

  const sources = (page: Page, selector: string): Promise<string[]> =>
    page.locator(selector).evaluateAll((imgs) => imgs.map((i) => (i as HTMLImageElement).src));

  test('after Generate the words are buttons, and clicking one lights the image where that word drew', async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    try {
      // An empty text in the address: no first-visit image, so nothing is generated before Enter.
      const { page, problems } = await open(context, '/?text=');
      assert.equal(await page.locator('#attention').isVisible(), false, 'hidden before generating');
      await page.locator(`#model-${ATTN}`).check(); // by name: the bundled AttnGAN is offered beside it
      await page.getByLabel('Caption', { exact: true }).fill(TEXT);
      await page.getByLabel('Seed', { exact: true }).fill('5');
      await page.getByLabel('Caption', { exact: true }).press('Enter');
      await page.waitForSelector('#generate:enabled');
      await page.waitForSelector('#attention-result:not([hidden])');
      assert.ok(await page.getByRole('heading', { name: 'Word attention' }).isVisible());

      assert.deepEqual(await page.locator('#attention-words .word-text').allTextContents(), [
        'a',
        'small',
        'red',
        'circle',
      ]);
      const thumbs = await sources(page, '#attention-words img');
      // The overlays the API gives for the same model, text and seed, at 256 px.
      const api = await app.inject({
        method: 'POST',
        url: '/api/attention',
        payload: { model: ATTN, text: TEXT, seed: 5 },
      });
      const last = api.json<{ attention: { resolution: number; maps: string[] }[] }>().attention.at(-1)!;
      assert.equal(last.resolution, 256);
      assert.deepEqual(thumbs, last.maps);

      const image = page.locator('#attention-image');
      const pressed = () =>
        page.locator('#attention-words button').evaluateAll((bs) => bs.map((b) => b.getAttribute('aria-pressed')));
      assert.equal(await image.getAttribute('src'), thumbs[0], 'the first word is shown first');
      assert.deepEqual(await pressed(), ['true', 'false', 'false', 'false']);
      assert.equal(await image.evaluate((i) => (i as HTMLImageElement).naturalWidth), 256);

      await page.getByRole('button', { name: 'red (word 3 of 4)' }).click();
      assert.equal(await image.getAttribute('src'), thumbs[2]);
      assert.notEqual(thumbs[2], thumbs[0], 'another word, another picture');
      assert.deepEqual(await pressed(), ['false', 'false', 'true', 'false']);
      assert.match(
        (await image.getAttribute('alt')) ?? '',
        /256×256 image of “a small red circle”, lit where the word “red” looks/,
      );
      assert.equal(await page.locator('#attention-position').textContent(), '“red”, word 3 of 4');
      assert.equal(await page.locator('#attention-download').getAttribute('href'), thumbs[2]);
      await page.screenshot({ path: path.join(ARTIFACTS, 'web-attention.png'), fullPage: true });

      // A model without attention: the section goes.
      await page.getByRole('radio', { name: /GAN-INT-CLS/ }).check();
      await page.getByLabel('Caption', { exact: true }).fill(CAPTION);
      await page.getByLabel('Caption', { exact: true }).press('Enter');
      await page.waitForSelector('#generate:enabled');
      assert.equal(await page.locator('#attention').isVisible(), false);
      await page.close();
      assert.deepEqual(problems, [], 'errors in the browser console');
    } finally {
      await context.close();
    }
  });

  test("the bundled AttnGAN shows where each word of the seed's caption looked in its 256 px image", async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    try {
      const q = new URLSearchParams({ model: 'attngan-cub', text: CAPTION, seed: '3' });
      const { page, problems } = await open(context, `/?${q.toString()}`);
      await page.waitForSelector('#attention-result:not([hidden])');
      assert.deepEqual(await page.locator('#attention-words .word-text').allTextContents(), CAPTION.split(' '));
      const image = page.locator('#attention-image');
      assert.equal(await image.evaluate((i) => (i as HTMLImageElement).naturalWidth), 256);
      await page.getByRole('button', { name: 'red (word 4 of 12)' }).click();
      assert.match((await image.getAttribute('alt')) ?? '', /256×256 image of .*, lit where the word “red” looks/);
      await page.screenshot({ path: path.join(ARTIFACTS, 'web-attention-attngan-cub.png'), fullPage: true });
      await page.close();
      assert.deepEqual(problems, [], 'errors in the browser console');
    } finally {
      await context.close();
    }
  });

  test('at 390 px wide the word attention does not scroll sideways', async () => {
    const phone = await browser.newContext({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 2 });
    try {
      const q = new URLSearchParams({
        model: ATTN,
        text: 'a large blue square above a small green triangle',
        seed: '7',
      });
      const { page, problems } = await open(phone, `/?${q.toString()}`);
      await page.waitForSelector('#attention-result:not([hidden])');
      assert.equal(await page.locator('#attention-words button').count(), 9);
      await page.locator('#attention-words button').nth(8).click();
      assert.equal(await page.locator('#attention-position').textContent(), '“triangle”, word 9 of 9');
      assert.equal(
        await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth),
        0,
      );
      await page.screenshot({ path: path.join(ARTIFACTS, 'web-attention-390px.png'), fullPage: true });
      await page.close();
      assert.deepEqual(problems, [], 'errors in the browser console');
    } finally {
      await phone.close();
    }
  });
});
