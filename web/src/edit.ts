// "Edit a face": a latent from the last generated image or from an upload (POST /api/jobs/invert),
// then re-rendered with other tags, along an attribute direction and with truncation ψ
// (POST /api/jobs/generate with latent, directions and psi). The address of an edit
// (?edit=<latent>&model=…&text=…&dir=…&strength=…&psi=…) opens it again.
import { Cancelled, describeJob, plainError, runJob, type GenerateResponse, type ModelInfo } from './api.js';
import { byId, h, say } from './dom.js';

interface InvertResponse {
  latent: string;
  text: string;
  target: string;
  reconstruction: string;
  psnrDb: number;
  timings: { generateMs: number };
}

const section = byId('edit', HTMLElement);
const fromResultButton = byId('edit-from-result', HTMLButtonElement);
const uploadForm = byId('upload-form', HTMLFormElement);
const uploadInput = byId('upload', HTMLInputElement);
const uploadText = byId('upload-text', HTMLInputElement);
const findButton = byId('find-latent', HTMLButtonElement);
const cancelButton = byId('edit-cancel', HTMLButtonElement);
const statusBox = byId('edit-status', HTMLElement);
const errorBox = byId('edit-error', HTMLElement);
const resultBox = byId('edit-result', HTMLDivElement);
const targetFigure = byId('edit-target-figure', HTMLElement);
const targetImage = byId('edit-target', HTMLImageElement);
const sourceImage = byId('edit-source', HTMLImageElement);
const sourceCaption = byId('edit-source-caption', HTMLElement);
const editedImage = byId('edit-image', HTMLImageElement);
const editForm = byId('edit-form', HTMLFormElement);
const editText = byId('edit-text', HTMLInputElement);
const directionSelect = byId('edit-direction', HTMLSelectElement);
const strengthInput = byId('edit-strength', HTMLInputElement);
const strengthValue = byId('edit-strength-value', HTMLOutputElement);
const psiInput = byId('edit-psi', HTMLInputElement);
const psiValue = byId('edit-psi-value', HTMLOutputElement);
const link = byId('edit-link', HTMLAnchorElement);

const MAX_UPLOAD_BYTES = 4 * 1024 * 1024;

let model: ModelInfo | undefined;
/** The latent being edited, and the text it was made under. */
let source: { latent: string; text: string } | undefined;
/** The first image of the last generate result: the latent "Edit this image" starts from. */
let lastResult: { latent: string; text: string; image: string; model: string } | undefined;
let request = 0;
let busy: AbortController | undefined;

/** Shown for models that have directions or invert; hidden otherwise. */
export function setEditModel(m: ModelInfo): void {
  if (model?.name !== m.name) clear();
  model = m;
  section.hidden = !(m.invert || m.directions.length > 0);
  uploadForm.hidden = !m.invert;
  directionSelect.replaceChildren(
    h('option', { value: '' }, 'none'),
    ...m.directions.map((d) =>
      h('option', { value: d.name }, d.name.startsWith('noise:') ? `${d.name} (noise)` : d.name),
    ),
  );
  showStrength();
}

/** Remembers the first image of a generate result as a starting point. */
export function setLastResult(r: GenerateResponse): void {
  const image = r.stages.at(-1)?.images[0];
  fromResultButton.disabled = r.latent === null || image === undefined;
  if (r.latent !== null && image !== undefined) lastResult = { latent: r.latent, text: r.text, image, model: r.model };
  if (uploadText.value.trim() === '') uploadText.value = r.text;
}

function clear(): void {
  source = undefined;
  resultBox.hidden = true;
  editForm.hidden = true;
  say(errorBox, '');
  statusBox.textContent = '';
}

function showStrength(): void {
  const d = model?.directions.find((x) => x.name === directionSelect.value);
  strengthInput.disabled = d === undefined;
  strengthInput.min = String(d?.min ?? 0);
  strengthInput.max = String(d?.max ?? 1);
  strengthInput.step = d !== undefined && d.max - d.min > 2 ? '0.25' : '0.05';
  if (d === undefined) strengthInput.value = '0';
  strengthValue.textContent = strengthInput.value;
  psiValue.textContent = psiInput.value;
}

/** Starts editing `latent`; `image` is its picture under `text`. */
function startFrom(latent: string, text: string, image: string, caption: string, target?: string): void {
  source = { latent, text };
  sourceImage.src = image;
  sourceCaption.textContent = caption;
  editedImage.src = image;
  targetFigure.hidden = target === undefined;
  if (target !== undefined) targetImage.src = target;
  resultBox.hidden = false;
  editForm.hidden = false;
  editText.value = text;
  updateLink();
}

function readFile(file: File): Promise<string> {
  return new Promise((resolve, reject) => {
    const r = new FileReader();
    r.onload = () => resolve(String(r.result));
    r.onerror = () => reject(new Error('the file could not be read'));
    r.readAsDataURL(file);
  });
}

async function findLatent(): Promise<void> {
  if (model === undefined) return;
  const file = uploadInput.files?.[0];
  const text = uploadText.value.trim();
  if (file === undefined) return say(errorBox, 'Choose an image to upload first.');
  if (file.size > MAX_UPLOAD_BYTES)
    return say(errorBox, `That file is ${(file.size / 2 ** 20).toFixed(1)} MiB; the limit is 4 MiB.`);
  if (text === '') return say(errorBox, 'Write what the image shows, e.g. "blue hair red eyes".');
  say(errorBox, '');
  const m = model;
  const mine = ++request;
  busy?.abort();
  const abort = (busy = new AbortController());
  cancelButton.onclick = () => abort.abort();
  cancelButton.hidden = false;
  findButton.disabled = true;
  statusBox.textContent = 'Finding its latent…';
  try {
    const image = await readFile(file);
    const r = await runJob<InvertResponse>(
      'invert',
      { model: m.name, text, image },
      (s) => {
        if (mine === request) statusBox.textContent = describeJob(s, 'Finding its latent');
      },
      abort.signal,
    );
    if (mine !== request) return;
    startFrom(r.latent, r.text, r.reconstruction, `Its latent (PSNR ${r.psnrDb.toFixed(1)} dB)`, r.target);
    statusBox.textContent = `Latent found in ${(r.timings.generateMs / 1000).toFixed(1)} s.`;
  } catch (e) {
    if (mine !== request) return;
    statusBox.textContent = e instanceof Cancelled ? 'Cancelled.' : '';
    if (!(e instanceof Cancelled)) say(errorBox, plainError('Could not find the latent', e));
  } finally {
    if (mine === request) {
      findButton.disabled = false;
      cancelButton.hidden = true;
    }
  }
}

function currentEdit(): { text: string; directions: Record<string, number>; psi: number } {
  const dir = directionSelect.value;
  const strength = Number(strengthInput.value);
  return {
    text: editText.value.trim(),
    directions: dir !== '' && strength !== 0 ? { [dir]: strength } : {},
    psi: Number(psiInput.value),
  };
}

function updateLink(): void {
  if (model === undefined || source === undefined) return;
  const e = currentEdit();
  const q = new URLSearchParams({ model: model.name, edit: source.latent, text: source.text, to: e.text });
  const dir = Object.keys(e.directions)[0];
  if (dir !== undefined) {
    q.set('dir', dir);
    q.set('strength', String(e.directions[dir]));
  }
  if (e.psi !== 1) q.set('psi', String(e.psi));
  link.href = `${location.pathname}?${q.toString()}`;
}

async function apply(): Promise<void> {
  if (model === undefined || source === undefined) return;
  const e = currentEdit();
  if (e.text === '') return say(errorBox, 'Write the tags to draw the face with.');
  say(errorBox, '');
  updateLink();
  const mine = ++request;
  busy?.abort();
  const abort = (busy = new AbortController());
  statusBox.textContent = 'Drawing…';
  try {
    const r = await runJob<GenerateResponse>(
      'generate',
      {
        model: model.name,
        text: e.text,
        latent: source.latent,
        ...(Object.keys(e.directions).length > 0 ? { directions: e.directions } : {}),
        ...(e.psi !== 1 ? { psi: e.psi } : {}),
      },
      (s) => {
        if (mine === request) statusBox.textContent = describeJob(s, 'Drawing');
      },
      abort.signal,
    );
    if (mine !== request) return;
    editedImage.src = r.stages.at(-1)!.images[0]!;
    editedImage.alt = `The face with ${r.text}${
      Object.keys(r.directions).length > 0
        ? `, ${Object.entries(r.directions)
            .map(([k, v]) => `${k} ${v}`)
            .join(', ')}`
        : ''
    }${r.psi !== null ? `, ψ ${r.psi}` : ''}`;
    statusBox.textContent = `Drawn in ${Math.round(r.timings.generateMs)} ms.`;
  } catch (err) {
    if (mine !== request || err instanceof Cancelled) return;
    statusBox.textContent = '';
    say(errorBox, plainError('Could not draw the edit', err));
  }
}

/** Opens an edit from the address (?edit=…), after the models are loaded and `m` chosen. */
export async function openEditFromAddress(m: ModelInfo, params: URLSearchParams): Promise<boolean> {
  const latent = params.get('edit');
  if (latent === null) return false;
  setEditModel(m);
  const text = params.get('text') ?? '';
  source = { latent, text };
  startFrom(latent, text, '', 'Start');
  editText.value = params.get('to') ?? text;
  const dir = params.get('dir');
  if (dir !== null && m.directions.some((d) => d.name === dir)) {
    directionSelect.value = dir;
    showStrength();
    strengthInput.value = params.get('strength') ?? '0';
  }
  const psi = Number(params.get('psi'));
  if (psi > 0 && psi <= 1) psiInput.value = String(psi);
  showStrength();
  // The start image: the latent under its own text, no edit.
  try {
    const r = await runJob<GenerateResponse>(
      'generate',
      { model: m.name, text, latent },
      () => undefined,
      new AbortController().signal,
    );
    sourceImage.src = r.stages.at(-1)!.images[0]!;
  } catch (e) {
    say(errorBox, plainError('Could not open the shared edit', e));
    return true;
  }
  await apply();
  section.scrollIntoView();
  return true;
}

fromResultButton.addEventListener('click', () => {
  if (lastResult === undefined || lastResult.model !== model?.name) return;
  startFrom(lastResult.latent, lastResult.text, lastResult.image, 'Generated');
  void apply();
});
uploadForm.addEventListener('submit', (ev) => {
  ev.preventDefault();
  void findLatent();
});
editForm.addEventListener('submit', (ev) => {
  ev.preventDefault();
  void apply();
});
directionSelect.addEventListener('change', () => {
  strengthInput.value = '0';
  showStrength();
});
strengthInput.addEventListener('input', showStrength);
psiInput.addEventListener('input', showStrength);
// Sliders apply when let go (one request per change, not per pixel of travel).
strengthInput.addEventListener('change', () => void apply());
psiInput.addEventListener('change', () => void apply());
editText.addEventListener('input', updateLink);
