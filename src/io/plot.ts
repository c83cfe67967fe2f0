// Line charts of training metrics as self-contained SVG (no plotting dependency), rasterised to
// PNG by sharp's librsvg; used for loss curves in docs and by `creativeai plot`.
import fs from 'node:fs';
import path from 'node:path';

import sharp from 'sharp';

export interface PlotSeries {
  name: string;
  /** [x, y] pairs; non-finite pairs (and y <= 0 with logY) are skipped and counted in the legend. */
  points: [number, number][];
}

export interface LineChartOptions {
  title?: string;
  series: PlotSeries[];
  xLabel?: string;
  yLabel?: string;
  /** Pixels (default 640). */
  width?: number;
  /** Pixels (default 360). */
  height?: number;
  /** Debiased EMA factor in [0, 1) applied for display, as TensorBoard's slider; the raw trace stays faint behind (default 0). */
  smooth?: number;
  /** Logarithmic y axis. */
  logY?: boolean;
}

export interface Ticks {
  /** Axis range, widened to whole steps. */
  min: number;
  max: number;
  step: number;
  ticks: number[];
}

const PALETTE = [
  '#1f77b4',
  '#ff7f0e',
  '#2ca02c',
  '#d62728',
  '#9467bd',
  '#8c564b',
  '#e377c2',
  '#7f7f7f',
  '#bcbd22',
  '#17becf',
];
const FONT = 'DejaVu Sans, Helvetica, Arial, sans-serif';
const FONT_SIZE = 11;
const TITLE_SIZE = 14;

/** Colour of series i: the tab10 palette, then golden-angle hues so any count stays distinct. */
export function seriesColor(i: number): string {
  if (i < PALETTE.length) return PALETTE[i]!;
  const h = (i * 137.508) % 360;
  const [s, l] = [0.65, 0.45];
  const f = (n: number): string => {
    const k = (n + h / 30) % 12;
    const c = l - s * Math.min(l, 1 - l) * Math.max(-1, Math.min(k - 3, 9 - k, 1));
    return Math.round(c * 255)
      .toString(16)
      .padStart(2, '0');
  };
  return `#${f(0)}${f(8)}${f(4)}`;
}

/** Text safe inside XML elements and attributes; control characters XML 1.0 forbids are dropped. */
export function escapeXml(s: string): string {
  return (
    s
      // eslint-disable-next-line no-control-regex
      .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/g, '')
      .replace(/&/g, '&amp;')
      .replace(/</g, '&lt;')
      .replace(/>/g, '&gt;')
      .replace(/"/g, '&quot;')
      .replace(/'/g, '&apos;')
  );
}

/** The 1-2-5 step (times a power of ten) nearest above `rough`. */
function niceStep(rough: number): number {
  const p = 10 ** Math.floor(Math.log10(rough));
  const f = rough / p;
  return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * p;
}

function decimalsOf(step: number): number {
  return Math.min(20, Math.max(0, -Math.floor(Math.log10(step) + 1e-9)));
}

/**
 * About `target` ticks at a 1-2-5 step covering [min, max]; a zero-width range (one point, a
 * constant series) is widened around its value so the axis still has ticks.
 */
export function niceTicks(min: number, max: number, target = 5): Ticks {
  if (!Number.isFinite(min) || !Number.isFinite(max))
    throw new RangeError(`niceTicks needs a finite range, got [${min}, ${max}]`);
  if (min > max) [min, max] = [max, min];
  if (min === max) {
    const d = min === 0 ? 1 : Math.abs(min) * 0.1;
    min -= d;
    max += d;
  }
  const step = niceStep((max - min) / Math.max(1, target));
  // The epsilon keeps 0.6 / 0.2 = 2.9999999999999996 from adding a whole extra step.
  const lo = Math.floor(min / step + 1e-9);
  const hi = Math.ceil(max / step - 1e-9);
  const d = decimalsOf(step);
  const ticks: number[] = [];
  for (let i = lo; i <= hi; i++) ticks.push(Number((i * step).toFixed(d)) + 0); // + 0 turns -0 into 0
  return { min: ticks[0]!, max: ticks[ticks.length - 1]!, step, ticks };
}

/**
 * Labels of one axis's ticks, with as many decimals as the step needs; all in exponent form when
 * the axis is very large or very small, so one axis never mixes the two styles.
 */
export function formatTicks(ticks: number[], step: number): string[] {
  const m = Math.max(0, ...ticks.map(Math.abs));
  const exp = m >= 1e6 || (m > 0 && m < 1e-3);
  return ticks.map((v) => {
    if (v === 0) return '0';
    if (!exp) return v.toFixed(decimalsOf(step));
    const digits = Math.max(0, Math.floor(Math.log10(Math.abs(v)) + 1e-9) - Math.floor(Math.log10(step) + 1e-9));
    const [mant, e] = v.toExponential(Math.min(20, digits)).split('e');
    return `${mant!.includes('.') ? mant!.replace(/\.?0+$/, '') : mant}e${Number(e)}`;
  });
}

/**
 * Ticks of a log10 axis over log-space [a, b]: 1, 2 and 5 times powers of ten when about a decade or
 * two is shown, whole decades for wider ranges, linear 1-2-5 values for narrow ones.
 */
function logTicks(
  a: number,
  b: number,
  target: number,
): { min: number; max: number; ticks: number[]; labels: string[] } {
  const marks: { e: number; m: number; v: number }[] = [];
  for (let e = Math.floor(a) - 1; e <= Math.ceil(b) + 1; e++)
    for (const m of [1, 2, 5]) marks.push({ e, m, v: e + Math.log10(m) });
  const first = marks.filter((k) => k.v <= a + 1e-9).pop()!;
  const last = marks.find((k) => k.v >= b - 1e-9)!;
  const inRange = marks.filter((k) => k.v >= first.v && k.v <= last.v);
  if (inRange.length >= 4 && inRange.length <= Math.max(4, Math.round(target * 1.5))) {
    const plain = inRange.every((k) => k.e >= -4 && k.e <= 5);
    return {
      min: first.v,
      max: last.v,
      ticks: inRange.map((k) => k.v),
      labels: inRange.map((k) => (plain ? (k.m * 10 ** k.e).toFixed(Math.max(0, -k.e)) : `${k.m}e${k.e}`)),
    };
  }
  if (b - a >= 1) {
    const lo = Math.floor(a + 1e-9);
    const hi = Math.ceil(b - 1e-9);
    const every = Math.max(1, Math.ceil(niceStep(Math.max(1, (hi - lo) / target))));
    const ticks: number[] = [];
    for (let e = Math.ceil(lo / every) * every; e <= hi; e += every) ticks.push(e);
    const plain = ticks.every((e) => e >= -4 && e <= 5);
    const labels = ticks.map((e) => (plain ? (10 ** e).toFixed(Math.max(0, -e)) : `1e${e}`));
    return { min: lo, max: hi, ticks, labels };
  }
  const pad = b > a ? (b - a) * 0.05 : 0.05;
  const [lo, hi] = [a - pad, b + pad];
  const lin = niceTicks(10 ** lo, 10 ** hi, target);
  const kept = lin.ticks.filter((t) => t > 0 && Math.log10(t) >= lo - 1e-12 && Math.log10(t) <= hi + 1e-12);
  return {
    min: lo,
    max: hi,
    ticks: kept.map((t) => Math.log10(t)),
    labels: formatTicks(kept, lin.step),
  };
}

/** Debiased exponential moving average (TensorBoard's smoothing), so early values are not pulled toward 0. */
function ema(ys: number[], beta: number): number[] {
  let s = 0;
  let w = 1;
  return ys.map((y) => {
    s = beta * s + (1 - beta) * y;
    w *= beta;
    return s / (1 - w);
  });
}

const textWidth = (s: string, size: number): number => s.length * size * 0.6;
const n1 = (v: number): string => (Math.round(v * 10) / 10).toString();

function checkSize(name: string, v: number): number {
  if (!Number.isInteger(v) || v < 100 || v > 10000)
    throw new RangeError(`${name} must be an integer from 100 to 10000 pixels, got ${String(v)}`);
  return v;
}

/** An SVG line chart: axes with 1-2-5 ticks, gridlines, one coloured line per series and a legend. */
export function lineChartSvg(o: LineChartOptions): string {
  const W = checkSize('width', o.width ?? 640);
  const H = checkSize('height', o.height ?? 360);
  const smooth = o.smooth ?? 0;
  if (!(smooth >= 0 && smooth < 1)) throw new RangeError(`smooth must be in [0, 1), got ${String(smooth)}`);
  const logY = o.logY ?? false;

  // Clean each series: drop unusable points (counted for the legend), order by x, smooth.
  const clean = o.series.map((s, i) => {
    const pts = s.points
      .filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y) && (!logY || y > 0))
      .map(([x, y]): [number, number] => [x, logY ? Math.log10(y) : y])
      .sort((p, q) => p[0] - q[0]);
    const raw = pts.map((p) => p[1]);
    const shown = smooth > 0 ? ema(raw, smooth) : raw;
    const skipped = s.points.length - pts.length;
    const note = pts.length === 0 ? ' (no data)' : skipped > 0 ? ` (${skipped} skipped)` : '';
    // Past the ten palette colours, dashes keep similar hues apart.
    const dash =
      i < PALETTE.length ? '' : ` stroke-dasharray="${['6 3', '2 2', '8 3 2 3'][(Math.floor(i / 10) - 1) % 3]}"`;
    return { name: s.name + note, color: seriesColor(i), dash, xs: pts.map((p) => p[0]), raw, shown };
  });
  const nonEmpty = clean.filter((s) => s.xs.length > 0);

  let [x0, x1, y0, y1] = [Infinity, -Infinity, Infinity, -Infinity];
  for (const s of nonEmpty) {
    x0 = Math.min(x0, s.xs[0]!);
    x1 = Math.max(x1, s.xs[s.xs.length - 1]!);
    for (const y of [...s.raw, ...s.shown]) [y0, y1] = [Math.min(y0, y), Math.max(y1, y)];
  }
  if (nonEmpty.length === 0) [x0, x1, y0, y1] = [0, 1, 0, 1];

  // Margins depend on the labels, so the y ticks (longest label) come before the layout.
  const roughPlotH = H - 90;
  const yt = logY
    ? logTicks(y0, y1, Math.max(2, Math.round(roughPlotH / 45)))
    : (() => {
        const t = niceTicks(y0, y1, Math.max(2, Math.round(roughPlotH / 45)));
        return { min: t.min, max: t.max, ticks: t.ticks, labels: formatTicks(t.ticks, t.step) };
      })();
  const yLabelW = Math.max(...yt.labels.map((l) => textWidth(l, FONT_SIZE)), 0);

  const parts: string[] = [];
  const left = Math.ceil(10 + (o.yLabel ? FONT_SIZE + 10 : 0) + yLabelW + 6);
  const legendMaxW = W - left - 16;
  // Legend items flow left to right above the plot, wrapping into rows.
  const legend: { x: number; row: number; s: (typeof clean)[number] }[] = [];
  let [lx, row] = [0, 0];
  for (const s of clean) {
    const w = 22 + textWidth(s.name, FONT_SIZE) + 14;
    if (lx > 0 && lx + w > legendMaxW) [lx, row] = [0, row + 1];
    legend.push({ x: lx, row, s });
    lx += w;
  }
  const legendRows = clean.length > 0 ? row + 1 : 0;
  const titleH = o.title ? TITLE_SIZE + 12 : 0;
  const top = 10 + titleH + legendRows * 16 + 6;
  const bottom = 6 + FONT_SIZE + 8 + (o.xLabel ? FONT_SIZE + 8 : 0) + 4;
  // The last x label is centred on the right edge: leave room for half of it.
  const roughXt = niceTicks(x0, x1, Math.max(2, Math.round((W - left - 16) / 80)));
  const lastX = formatTicks(roughXt.ticks, roughXt.step).pop() ?? '';
  const right = Math.max(16, Math.ceil(textWidth(lastX, FONT_SIZE) / 2) + 4);
  const pw = W - left - right;
  const ph = H - top - bottom;
  if (pw < 20 || ph < 20) throw new RangeError(`a ${W}x${H} chart leaves no room to plot; make it larger`);

  const xt = niceTicks(x0, x1, Math.max(2, Math.round(pw / 80)));
  const sx = (x: number): number => left + ((x - xt.min) / (xt.max - xt.min)) * pw;
  const sy = (y: number): number => top + ph - ((y - yt.min) / (yt.max - yt.min)) * ph;
  const plotBottom = top + ph;

  parts.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="${FONT}" font-size="${FONT_SIZE}">`,
    `<rect width="${W}" height="${H}" fill="#ffffff"/>`,
  );
  if (o.title)
    parts.push(
      `<text x="${n1(W / 2)}" y="${10 + TITLE_SIZE}" text-anchor="middle" font-size="${TITLE_SIZE}" font-weight="bold" fill="#222222">${escapeXml(o.title)}</text>`,
    );

  // Gridlines and tick labels.
  const grid: string[] = [];
  const labels: string[] = [];
  const xLabels = formatTicks(xt.ticks, xt.step);
  xt.ticks.forEach((t, i) => {
    const x = n1(sx(t));
    grid.push(`<line x1="${x}" y1="${top}" x2="${x}" y2="${plotBottom}"/>`);
    labels.push(`<text x="${x}" y="${plotBottom + 6 + FONT_SIZE}" text-anchor="middle">${xLabels[i]!}</text>`);
  });
  yt.ticks.forEach((t, i) => {
    const y = n1(sy(t));
    grid.push(`<line x1="${left}" y1="${y}" x2="${left + pw}" y2="${y}"/>`);
    labels.push(
      `<text x="${left - 6}" y="${n1(sy(t) + FONT_SIZE * 0.35)}" text-anchor="end">${escapeXml(yt.labels[i]!)}</text>`,
    );
  });
  parts.push(`<g stroke="#e5e5e5" stroke-width="1">${grid.join('')}</g>`);
  parts.push(
    `<rect x="${left}" y="${top}" width="${pw}" height="${ph}" fill="none" stroke="#888888" stroke-width="1"/>`,
    `<g fill="#444444">${labels.join('')}</g>`,
  );
  if (o.xLabel)
    parts.push(
      `<text x="${n1(left + pw / 2)}" y="${plotBottom + 6 + FONT_SIZE + 8 + FONT_SIZE}" text-anchor="middle" fill="#222222">${escapeXml(o.xLabel)}</text>`,
    );
  if (o.yLabel) {
    const cy = n1(top + ph / 2);
    parts.push(
      `<text x="${10 + FONT_SIZE}" y="${cy}" transform="rotate(-90 ${10 + FONT_SIZE} ${cy})" text-anchor="middle" fill="#222222">${escapeXml(o.yLabel)}${logY ? ' (log)' : ''}</text>`,
    );
  }

  // Lines: the faint raw trace under the smoothed one; a lone point gets a dot, as a path would be invisible.
  const pathOf = (xs: number[], ys: number[]): string =>
    xs.map((x, i) => `${i === 0 ? 'M' : 'L'}${n1(sx(x))} ${n1(sy(ys[i]!))}`).join('');
  for (const s of nonEmpty) {
    if (smooth > 0)
      parts.push(
        `<polyline class="raw" fill="none" stroke="${s.color}" stroke-opacity="0.25" stroke-width="1" points="${s.xs.map((x, i) => `${n1(sx(x))},${n1(sy(s.raw[i]!))}`).join(' ')}"/>`,
      );
    parts.push(
      `<path fill="none" stroke="${s.color}"${s.dash} stroke-width="1.6" stroke-linejoin="round" d="${pathOf(s.xs, s.shown)}"/>`,
    );
    if (s.xs.length === 1)
      parts.push(`<circle cx="${n1(sx(s.xs[0]!))}" cy="${n1(sy(s.shown[0]!))}" r="3" fill="${s.color}"/>`);
  }

  if (nonEmpty.length === 0)
    parts.push(
      `<text x="${n1(left + pw / 2)}" y="${n1(top + ph / 2)}" text-anchor="middle" font-size="${TITLE_SIZE}" fill="#888888">${clean.length === 0 ? 'No series to plot' : 'No finite data points'}</text>`,
    );

  const legendTop = 10 + titleH;
  for (const { x, row: r, s } of legend) {
    const y = legendTop + r * 16 + 8;
    parts.push(
      `<line x1="${n1(left + x)}" y1="${y}" x2="${n1(left + x + 16)}" y2="${y}" stroke="${s.color}"${s.dash} stroke-width="3"/>`,
      `<text x="${n1(left + x + 22)}" y="${n1(y + FONT_SIZE * 0.35)}" fill="#222222">${escapeXml(s.name)}</text>`,
    );
  }
  parts.push('</svg>');
  return parts.join('\n') + '\n';
}

/** Writes the chart as PNG (`.png`, through sharp) or SVG (`.svg`), creating the folder. */
export async function savePlot(file: string, o: LineChartOptions): Promise<void> {
  const ext = path.extname(file).toLowerCase();
  if (ext !== '.png' && ext !== '.svg')
    throw new Error(`savePlot writes .png or .svg files, got '${file}' (extension '${ext || 'none'}')`);
  const svg = lineChartSvg(o);
  await fs.promises.mkdir(path.dirname(path.resolve(file)), { recursive: true });
  if (ext === '.svg') await fs.promises.writeFile(file, svg);
  else await sharp(Buffer.from(svg)).png().toFile(file);
}
