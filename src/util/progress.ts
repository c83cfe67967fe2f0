// A console progress bar with rate and ETA, drawn on stderr; plain lines when not a TTY (CI logs).
export interface ProgressOptions {
  total: number;
  label: string;
  unit?: string;
  stream?: NodeJS.WriteStream;
}

export class Progress {
  readonly #o: Required<ProgressOptions>;
  readonly #start = Date.now();
  #done = 0;
  #lastDraw = 0;
  #lastPlainPct = -1;

  constructor(o: ProgressOptions) {
    this.#o = { unit: 'items', stream: process.stderr, ...o };
  }

  get done(): number {
    return this.#done;
  }

  tick(n = 1, note = ''): void {
    this.#done += n;
    const now = Date.now();
    if (now - this.#lastDraw < 100 && this.#done < this.#o.total) return;
    this.#lastDraw = now;
    this.#draw(note);
  }

  finish(note = ''): void {
    this.#draw(note, true);
  }

  #draw(note: string, final = false): void {
    const { total, label, unit, stream } = this.#o;
    const secs = (Date.now() - this.#start) / 1000;
    const rate = this.#done / Math.max(secs, 1e-9);
    const frac = total > 0 ? Math.min(1, this.#done / total) : 1;
    const eta = rate > 0 ? (total - this.#done) / rate : 0;
    const text = `${label} ${this.#done}/${total} ${unit} ${(frac * 100).toFixed(0)}% ${rate.toFixed(1)} ${unit}/s ${final ? `in ${fmt(secs)}` : `ETA ${fmt(eta)}`}${note ? ` ${note}` : ''}`;
    if (stream.isTTY) {
      const width = 24;
      const filled = Math.round(frac * width);
      stream.write(`\r[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${text}\x1b[K${final ? '\n' : ''}`);
    } else {
      const pct = Math.floor(frac * 10);
      if (final || pct > this.#lastPlainPct) {
        this.#lastPlainPct = pct;
        stream.write(`${text}\n`);
      }
    }
  }
}

function fmt(s: number): string {
  if (!Number.isFinite(s)) return '?';
  if (s < 60) return `${s.toFixed(0)}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(Math.floor(s % 60)).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}
