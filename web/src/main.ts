// The main page: choose a model, write a caption, generate (and for AttnGAN, see where each word
// drew); interpolate between two captions; the model card. The model, text, seed and sample count of
// the last result are kept in the address (?model=…&text=…&seed=…&count=…), and opening such an
// address generates the same images again.
import {
  MAX_COUNT,
  MAX_SEED,
  Cancelled,
  call,
  describeJob,
  plainError,
  runJob,
  randomSeed,
  type AttentionResponse,
  type GenerateResponse,
  type InterpolateResponse,
  type ModelInfo,
  type Stage,
} from './api.js';
import { byId, h, say } from './dom.js';
import { openEditFromAddress, setEditModel, setLastResult } from './edit.js';
import { dataUrlBytes, zipStore } from './zip.js';

const INTERPOLATION_STEPS = 9;

const form = byId('generate-form', HTMLFormElement);
const modelsBox = byId('models', HTMLFieldSetElement);
const textInput = byId('text', HTMLInputElement);
const hint = byId('hint', HTMLElement);
const examplesList = byId('examples', HTMLUListElement);
const seedInput = byId('seed', HTMLInputElement);
const newSeedButton = byId('new-seed', HTMLButtonElement);
const countInput = byId('count', HTMLInputElement);
const truncationInput = byId('truncation', HTMLInputElement);
const truncationValue = byId('truncation-value', HTMLOutputElement);
const generateButton = byId('generate', HTMLButtonElement);
const cancelButton = byId('cancel', HTMLButtonElement);
const statusBox = byId('status', HTMLElement);
const noticeBox = byId('notice', HTMLElement);
const errorBox = byId('error', HTMLElement);
const results = byId('results', HTMLDivElement);
const gallerySection = byId('gallery', HTMLElement);
const galleryList = byId('gallery-list', HTMLOListElement);
const galleryCount = byId('gallery-count', HTMLElement);
const downloadAllButton = byId('download-all', HTMLButtonElement);

const attentionSection = byId('attention', HTMLElement);
const attentionStatus = byId('attention-status', HTMLElement);
const attentionError = byId('attention-error', HTMLElement);
const attentionResult = byId('attention-result', HTMLDivElement);
const attentionImage = byId('attention-image', HTMLImageElement);
const attentionPosition = byId('attention-position', HTMLElement);
const attentionDownload = byId('attention-download', HTMLAnchorElement);
const attentionWords = byId('attention-words', HTMLUListElement);

const interpForm = byId('interp-form', HTMLFormElement);
const fromInput = byId('from', HTMLInputElement);
const toInput = byId('to', HTMLInputElement);
const interpButton = byId('interpolate', HTMLButtonElement);
const interpStatus = byId('interp-status', HTMLElement);
const interpNotice = byId('interp-notice', HTMLElement);
const interpError = byId('interp-error', HTMLElement);
const interpResult = byId('interp-result', HTMLDivElement);
const interpFrame = byId('interp-frame', HTMLImageElement);
const interpPosition = byId('interp-position', HTMLElement);
const interpDownload = byId('interp-download', HTMLAnchorElement);
const interpSlider = byId('interp-slider', HTMLInputElement);
const interpEnds = byId('interp-ends', HTMLElement);
const interpStrip = byId('interp-strip', HTMLOListElement);

const cardTitle = byId('card-title', HTMLElement);
const cardBody = byId('card-body', HTMLDivElement);

let models: ModelInfo[] = [];
let current: ModelInfo | undefined;
/** Each request takes a number; an answer that is no longer the latest is dropped. */
let generation = 0;
let interpolation = 0;
let attentionRequest = 0;
let frames: { images: string[]; model: string; seed: number } | undefined;
/** Every image generated on this page so far (every stage), for "Download all". */
const sessionFiles: { name: string; url: string }[] = [];
let overlays:
  { maps: string[]; words: string[]; resolution: number; text: string; model: string; seed: number } | undefined;

// ---------------------------------------------------------------------------------------------
// Models, examples and the card

function renderModels(): void {
  modelsBox.querySelector('#models-loading')?.remove();
  for (const m of models) {
    const id = `model-${m.name}`;
    const input = h('input', { type: 'radio', name: 'model', id, value: m.name });
    input.addEventListener('change', () => {
      if (input.checked) selectModel(m);
    });
    modelsBox.append(
      h(
        'div',
        { class: 'choice' },
        input,
        h(
          'label',
          { for: id },
          h('span', { class: 'choice-title' }, m.title),
          ' ',
          h('span', { class: 'muted' }, m.dataset),
        ),
      ),
    );
  }
}

/** Makes `m` the chosen model; a caption that was the previous model's example becomes one of this one's. */
function selectModel(m: ModelInfo, o: { keepText?: boolean } = {}): void {
  const previous = current;
  current = m;
  setEditModel(m);
  const radio = document.getElementById(`model-${m.name}`);
  if (radio instanceof HTMLInputElement) radio.checked = true;

  const replaceable = (value: string): boolean =>
    value.trim() === '' || (previous !== undefined && previous !== m && previous.examples.includes(value.trim()));
  if (o.keepText !== true && replaceable(textInput.value)) textInput.value = m.examples[0] ?? '';
  if (replaceable(fromInput.value)) fromInput.value = m.examples[0] ?? '';
  if (replaceable(toInput.value)) toInput.value = m.examples[1] ?? m.examples[0] ?? '';

  if (m.condition === 'tags') {
    hint.textContent =
      'Write a hair colour and an eye colour: "<colour> hair <colour> eyes", e.g. "blue hair red eyes".';
    textInput.placeholder = 'blue hair red eyes';
  } else {
    hint.textContent = 'Describe a bird in plain English: its colours, wings, beak.';
    textInput.placeholder = 'this bird is red with white and has a very short beak';
  }

  examplesList.replaceChildren(
    ...m.examples.map((ex) => {
      const b = h('button', { type: 'button', class: 'example' }, ex);
      b.addEventListener('click', () => {
        textInput.value = ex;
        void generate();
      });
      return h('li', {}, b);
    }),
  );
  examplesList.parentElement!.hidden = m.examples.length === 0;
  renderCard(m);
}

const TRAINING_LABELS: Record<string, string> = {
  hardware: 'Trained on',
  steps: 'Training steps',
  images: 'Training images seen',
  checkpoint: 'Exported from',
  run: 'Training run',
};

function renderCard(m: ModelInfo): void {
  cardTitle.textContent = m.title;
  const facts: [string, string][] = [
    ['Dataset', m.dataset],
    ['Family', m.family],
    ['Input', m.condition === 'tags' ? 'hair and eye colour tags' : 'a caption'],
    ['Image size', m.resolutions.map((r) => `${r}×${r}`).join(', ')],
  ];
  for (const [k, v] of Object.entries(m.training)) {
    const value = typeof v === 'number' ? v.toLocaleString('en') : v;
    facts.push([TRAINING_LABELS[k] ?? k, value]);
  }
  const dl = h('dl', { class: 'facts' });
  for (const [k, v] of facts) dl.append(h('dt', {}, k), h('dd', {}, v));

  const parts: Node[] = [];
  if (m.description !== '') parts.push(h('p', { class: 'description' }, m.description));
  parts.push(dl);
  if (m.metrics.length > 0) {
    const table = h(
      'table',
      { class: 'metrics' },
      h('caption', {}, 'Measured'),
      h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Metric'), h('th', { scope: 'col' }, 'Value'))),
      h(
        'tbody',
        {},
        ...m.metrics.map((x) =>
          h(
            'tr',
            {},
            h('th', { scope: 'row' }, x.name, x.detail ? h('span', { class: 'detail' }, x.detail) : null),
            h('td', {}, x.value),
          ),
        ),
      ),
    );
    parts.push(table);
  } else parts.push(h('p', { class: 'muted' }, 'No measurements for this model yet.'));
  cardBody.replaceChildren(...parts);
}

// ---------------------------------------------------------------------------------------------
// Reading the form

/** The seed field as a number; a new random seed when it is empty; an error message when it is not a seed. */
function readSeed(): number | string {
  const raw = seedInput.value.trim();
  if (raw === '') {
    const s = randomSeed();
    seedInput.value = String(s);
    return s;
  }
  if (!/^\d+$/.test(raw) || Number(raw) > MAX_SEED)
    return `The seed must be a whole number from 0 to ${MAX_SEED}; press "New seed" for a random one.`;
  return Number(raw);
}

function readCount(): number | string {
  const raw = countInput.value.trim();
  const n = Number(raw);
  if (raw === '' || !Number.isInteger(n) || n < 1 || n > MAX_COUNT)
    return `The number of samples must be a whole number from 1 to ${MAX_COUNT}.`;
  return n;
}

/** The truncation slider: undefined when off (0), else t in (0, 2]. */
function readTruncation(): number | undefined {
  const t = Number(truncationInput.value);
  return t > 0 ? t : undefined;
}

function showTruncation(): void {
  const t = readTruncation();
  truncationValue.textContent = t === undefined ? 'off' : t.toFixed(1);
}

function unknownWordsNotice(words: string[]): string {
  if (words.length === 0) return '';
  return `The model does not know: ${words.join(', ')} — ${words.length === 1 ? 'that word was' : 'those words were'} ignored.`;
}

function pngName(model: string, seed: number, what: string): string {
  return `creativeai-${model}-${seed}-${what}.png`;
}

// ---------------------------------------------------------------------------------------------
// Generate

async function generate(): Promise<void> {
  if (current === undefined) return;
  const model = current;
  const text = textInput.value.trim();
  say(noticeBox, '');
  if (text === '') {
    showGenerateError(
      model.condition === 'tags' ? 'Write the tags first, e.g. "blue hair red eyes".' : 'Write a caption first.',
    );
    textInput.focus();
    return;
  }
  const seed = readSeed();
  const count = readCount();
  if (typeof seed === 'string' || typeof count === 'string') {
    showGenerateError(typeof seed === 'string' ? seed : (count as string));
    (typeof seed === 'string' ? seedInput : countInput).focus();
    return;
  }
  say(errorBox, '');
  const truncation = readTruncation();
  const mine = ++generation;
  if (!model.attention) hideAttention();
  generateButton.disabled = true;
  results.setAttribute('aria-busy', 'true');
  statusBox.textContent = count === 1 ? 'Generating…' : `Generating ${count} images…`;
  const abort = new AbortController();
  cancelButton.onclick = () => abort.abort();
  cancelButton.hidden = false;
  try {
    const r = await runJob<GenerateResponse>(
      'generate',
      { model: model.name, text, seed, count, ...(truncation !== undefined ? { truncation } : {}) },
      (s) => {
        if (mine === generation) statusBox.textContent = describeJob(s, 'Generating');
      },
      abort.signal,
    );
    if (mine !== generation) return;
    renderResults(r, model);
    addToGallery(r, model);
    setLastResult(r);
    if (model.attention) void showAttention(model, r.text, r.seed);
    else hideAttention();
    say(noticeBox, unknownWordsNotice(r.unknownWords));
    statusBox.textContent = `${r.count === 1 ? 'Image' : `${r.count} images`} made in ${Math.round(r.timings.generateMs)} ms.`;
    history.replaceState(null, '', `${location.pathname}?${shareQuery(r)}`);
  } catch (e) {
    if (mine !== generation) return;
    if (e instanceof Cancelled) {
      // What is on screen stays: it is still the last request that finished.
      statusBox.textContent = 'Cancelled.';
      return;
    }
    statusBox.textContent = '';
    showGenerateError(plainError('Could not generate images', e));
  } finally {
    if (mine === generation) {
      generateButton.disabled = false;
      cancelButton.hidden = true;
      results.removeAttribute('aria-busy');
    }
  }
}

/** An error in place of the results: the images on screen were for another request. */
function showGenerateError(message: string): void {
  results.replaceChildren();
  hideAttention();
  say(errorBox, message);
}

/** One card per sample, its stages side by side (smallest first), each with a PNG download link. */
function renderResults(r: GenerateResponse, model: ModelInfo): void {
  // At least 256 px on a desktop, whatever the model's size: small stages are scaled up as pixels
  // (img { image-rendering: pixelated }), and the caption says how large the image really is.
  const size = 256;
  const samples = h('ol', { class: 'samples', style: `--size: ${size}px` });
  for (let i = 0; i < r.count; i++) {
    const sample = h('li', { class: 'sample' });
    r.stages.forEach((stage: Stage, s) => {
      const src = stage.images[i];
      if (src === undefined) return;
      const label = `${stage.resolution}×${stage.resolution}`;
      const what = r.count === 1 ? `${stage.resolution}px` : `${i + 1}-${stage.resolution}px`;
      sample.append(
        h(
          'figure',
          { class: 'stage' },
          h('img', {
            src,
            width: stage.resolution,
            height: stage.resolution,
            alt: `${r.count > 1 ? `Sample ${i + 1}, ` : ''}${r.stages.length > 1 ? `stage ${s + 1}, ` : ''}${label}: ${r.text}`,
          }),
          h(
            'figcaption',
            {},
            r.stages.length > 1 ? `Stage ${s + 1} · ${label}` : label,
            stage.resolution < size ? ` (shown ×${size / stage.resolution})` : '',
            ' · ',
            h('a', { href: src, download: pngName(r.model, r.seed, what) }, 'PNG'),
          ),
        ),
      );
    });
    samples.append(sample);
  }
  const share = h('a', { href: location.pathname + '?' + shareQuery(r), id: 'share' }, 'Link to these images');
  results.replaceChildren(
    h(
      'p',
      { class: 'result-meta' },
      h('q', {}, r.text),
      ` — ${model.title}, seed ${r.seed}, ${r.count} ${r.count === 1 ? 'sample' : 'samples'}` +
        (r.truncation !== null ? `, truncation ${r.truncation}. ` : '. '),
      share,
    ),
    samples,
  );
}

function shareQuery(r: GenerateResponse): string {
  return new URLSearchParams({
    model: r.model,
    text: r.text,
    seed: String(r.seed),
    count: String(r.count),
    ...(r.truncation !== null ? { truncation: String(r.truncation) } : {}),
  }).toString();
}

// ---------------------------------------------------------------------------------------------
// This session: a thumbnail per result (a link that makes it again) and every image in one ZIP

let galleryResults = 0;

function addToGallery(r: GenerateResponse, model: ModelInfo): void {
  // Numbered by result, so two results with the same model and seed keep both sets of files.
  const prefix = String(++galleryResults).padStart(2, '0');
  r.stages.forEach((stage) =>
    stage.images.forEach((url, i) => {
      const what = r.count === 1 ? `${stage.resolution}px` : `${i + 1}-${stage.resolution}px`;
      sessionFiles.push({ name: `${prefix}-${pngName(r.model, r.seed, what)}`, url });
    }),
  );
  const last = r.stages[r.stages.length - 1]!;
  const href = `${location.pathname}?${shareQuery(r)}`;
  galleryList.prepend(
    h(
      'li',
      {},
      h(
        'a',
        { href, title: `${r.text} — ${model.title}, seed ${r.seed}` },
        h('img', { src: last.images[0]!, alt: `${r.text} (${model.title}, seed ${r.seed})`, width: 96, height: 96 }),
        r.text,
      ),
    ),
  );
  gallerySection.hidden = false;
  const n = sessionFiles.length;
  galleryCount.textContent = `${n} ${n === 1 ? 'image' : 'images'} as one ZIP`;
}

function downloadAll(): void {
  if (sessionFiles.length === 0) return;
  const zip = zipStore(sessionFiles.map((f) => ({ name: f.name, bytes: dataUrlBytes(f.url) })));
  const url = URL.createObjectURL(new Blob([zip], { type: 'application/zip' }));
  const a = h('a', { href: url, download: 'creativeai-session.zip' });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

// ---------------------------------------------------------------------------------------------
// Word attention (AttnGAN): where each word of the caption drew the first image

function hideAttention(): void {
  attentionRequest++; // an answer still on its way is dropped
  attentionSection.hidden = true;
  attentionSection.removeAttribute('aria-busy');
}

async function showAttention(model: ModelInfo, text: string, seed: number): Promise<void> {
  const mine = ++attentionRequest;
  attentionSection.hidden = false;
  attentionSection.setAttribute('aria-busy', 'true');
  attentionResult.hidden = true;
  say(attentionError, '');
  attentionStatus.textContent = 'Finding where each word looks…';
  try {
    const r = await call<AttentionResponse>('/api/attention', { model: model.name, text, seed });
    if (mine !== attentionRequest) return;
    // The last attentional stage: the largest image.
    const last = r.attention[r.attention.length - 1];
    if (last === undefined || last.maps.length === 0 || r.words.length === 0)
      throw new Error('the server sent no attention maps');
    renderAttention(r, last);
    const n = overlays!.words.length;
    attentionStatus.textContent = `${n} ${n === 1 ? 'word' : 'words'} at ${last.resolution}×${last.resolution}, made in ${Math.round(r.timings.generateMs)} ms.`;
  } catch (e) {
    if (mine !== attentionRequest) return;
    attentionStatus.textContent = '';
    say(attentionError, plainError('Could not show the word attention', e));
  } finally {
    if (mine === attentionRequest) attentionSection.removeAttribute('aria-busy');
  }
}

function renderAttention(r: AttentionResponse, stage: { resolution: number; maps: string[] }): void {
  const n = Math.min(r.words.length, stage.maps.length);
  const words = r.words.slice(0, n);
  overlays = {
    maps: stage.maps.slice(0, n),
    words,
    resolution: stage.resolution,
    text: r.text,
    model: r.model,
    seed: r.seed,
  };
  attentionImage.width = stage.resolution;
  attentionImage.height = stage.resolution;
  attentionWords.replaceChildren(
    ...words.map((word, i) => {
      // Named by the word; the position tells repeated words apart ("a", "a").
      const b = h(
        'button',
        { type: 'button', class: 'word', 'aria-pressed': 'false', 'data-word': i },
        h('img', { src: stage.maps[i], alt: '', width: stage.resolution, height: stage.resolution }),
        h('span', { class: 'word-text' }, word),
        h('span', { class: 'visually-hidden' }, ` (word ${i + 1} of ${n})`),
      );
      b.addEventListener('click', () => showWord(i));
      return h('li', {}, b);
    }),
  );
  attentionResult.hidden = false;
  showWord(0);
}

function showWord(i: number): void {
  if (overlays === undefined) return;
  const src = overlays.maps[i];
  const word = overlays.words[i];
  if (src === undefined || word === undefined) return;
  const n = overlays.words.length;
  const side = `${overlays.resolution}×${overlays.resolution}`;
  attentionImage.src = src;
  attentionImage.alt = `The ${side} image of “${overlays.text}”, lit where the word “${word}” looks`;
  attentionImage.dataset.word = String(i);
  attentionPosition.textContent = `“${word}”, word ${i + 1} of ${n}`;
  attentionDownload.href = src;
  attentionDownload.download = pngName(
    overlays.model,
    overlays.seed,
    `attention-${i + 1}-${word.replace(/[^\p{L}\p{N}_-]+/gu, '') || 'word'}`,
  );
  attentionWords.querySelectorAll('button.word').forEach((b, j) => {
    b.setAttribute('aria-pressed', j === i ? 'true' : 'false');
  });
}

// ---------------------------------------------------------------------------------------------
// Interpolate

/** An error in place of the frames of an earlier interpolation. */
function showInterpError(message: string): void {
  frames = undefined;
  interpResult.hidden = true;
  say(interpError, message);
}

async function interpolate(): Promise<void> {
  if (current === undefined) return;
  const model = current;
  const from = fromInput.value.trim();
  const to = toInput.value.trim();
  say(interpNotice, '');
  if (from === '' || to === '') {
    showInterpError('Write both captions first.');
    (from === '' ? fromInput : toInput).focus();
    return;
  }
  const seed = readSeed();
  if (typeof seed === 'string') {
    showInterpError(seed);
    seedInput.focus();
    return;
  }
  say(interpError, '');
  const mine = ++interpolation;
  interpButton.disabled = true;
  interpStatus.textContent = 'Interpolating…';
  try {
    const r = await runJob<InterpolateResponse>(
      'interpolate',
      {
        model: model.name,
        from,
        to,
        seed,
        steps: INTERPOLATION_STEPS,
        ...(readTruncation() !== undefined ? { truncation: readTruncation() } : {}),
      },
      (s) => {
        if (mine === interpolation) interpStatus.textContent = describeJob(s, 'Interpolating');
      },
      new AbortController().signal,
    );
    if (mine !== interpolation) return;
    const last = r.stages[r.stages.length - 1];
    if (last === undefined || last.images.length === 0) throw new Error('the server sent no frames');
    frames = { images: last.images, model: r.model, seed: r.seed };
    const words = [...new Set([...r.unknownWords.from, ...r.unknownWords.to])];
    say(interpNotice, unknownWordsNotice(words));
    renderStrip(r, last);
    interpStatus.textContent = `${last.images.length} frames made in ${Math.round(r.timings.generateMs)} ms.`;
  } catch (e) {
    if (mine !== interpolation) return;
    interpStatus.textContent = '';
    showInterpError(plainError('Could not interpolate', e));
  } finally {
    if (mine === interpolation) interpButton.disabled = false;
  }
}

function renderStrip(r: InterpolateResponse, stage: Stage): void {
  const n = stage.images.length;
  interpSlider.max = String(n - 1);
  interpSlider.value = '0';
  interpEnds.textContent = `From “${r.from}” (left) to “${r.to}” (right).`;
  interpFrame.width = stage.resolution;
  interpFrame.height = stage.resolution;
  interpStrip.style.setProperty('--frames', String(n));
  interpStrip.replaceChildren(
    ...stage.images.map((src, i) => {
      const b = h(
        'button',
        { type: 'button', class: 'frame', 'aria-label': `Frame ${i + 1} of ${n}` },
        h('img', { src, alt: '', width: stage.resolution, height: stage.resolution }),
      );
      b.addEventListener('click', () => {
        interpSlider.value = String(i);
        showFrame(i);
      });
      return h('li', {}, b);
    }),
  );
  interpResult.hidden = false;
  showFrame(0);
}

function showFrame(i: number): void {
  if (frames === undefined) return;
  const src = frames.images[i];
  if (src === undefined) return;
  const n = frames.images.length;
  interpFrame.src = src;
  interpFrame.alt = `Frame ${i + 1} of ${n}`;
  interpFrame.dataset.frame = String(i);
  interpPosition.textContent = `Frame ${i + 1} of ${n}`;
  interpDownload.href = src;
  interpDownload.download = pngName(frames.model, frames.seed, `frame-${i + 1}`);
  interpSlider.setAttribute('aria-valuetext', `frame ${i + 1} of ${n}`);
  interpStrip.querySelectorAll('button.frame').forEach((b, j) => {
    b.setAttribute('aria-current', j === i ? 'true' : 'false');
  });
}

// ---------------------------------------------------------------------------------------------
// Start

form.addEventListener('submit', (ev) => {
  ev.preventDefault();
  void generate();
});
newSeedButton.addEventListener('click', () => {
  seedInput.value = String(randomSeed());
  if (textInput.value.trim() !== '') void generate();
});
interpForm.addEventListener('submit', (ev) => {
  ev.preventDefault();
  void interpolate();
});
interpSlider.addEventListener('input', () => showFrame(Number(interpSlider.value)));
truncationInput.addEventListener('input', showTruncation);
downloadAllButton.addEventListener('click', downloadAll);

async function start(): Promise<void> {
  const params = new URLSearchParams(location.search);
  try {
    models = (await call<{ models: ModelInfo[] }>('/api/models')).models;
  } catch (e) {
    say(errorBox, plainError('Could not load the models', e));
    return;
  }
  if (models.length === 0) {
    say(errorBox, 'This server has no models to run yet: export one into its models folder and restart it.');
    return;
  }
  renderModels();
  const wanted = params.get('model');
  const chosen = models.find((m) => m.name === wanted) ?? models.find((m) => m.default) ?? models[0]!;
  const text = params.get('text');
  if (text !== null) textInput.value = text;
  selectModel(chosen, { keepText: text !== null });

  const seed = params.get('seed');
  seedInput.value = seed !== null && /^\d+$/.test(seed) && Number(seed) <= MAX_SEED ? seed : String(randomSeed());
  const count = Number(params.get('count'));
  if (Number.isInteger(count) && count >= 1 && count <= MAX_COUNT) countInput.value = String(count);
  const truncation = Number(params.get('truncation'));
  if (truncation > 0 && truncation <= 2) truncationInput.value = String(truncation);
  showTruncation();

  if (wanted !== null && chosen.name !== wanted) {
    say(errorBox, `There is no model called “${wanted}” here; showing ${chosen.title} instead.`);
    return;
  }
  // A shared edit opens the edit; a shared address makes its images again; a first visit shows the
  // first example's.
  if (await openEditFromAddress(chosen, params)) return;
  if (text === null || text.trim() !== '') await generate();
}

// data-ready tells tests (and anyone scripting the page) that the first render is done.
void start().finally(() => {
  document.body.dataset.ready = 'true';
});
