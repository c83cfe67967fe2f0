// Crash-safe file writes: a reader (or the next run after a crash) sees the old file or the new one,
// never half of one. Used for checkpoints, exports, images, logs and the game's state.
import fs from 'node:fs';
import path from 'node:path';

/**
 * Writes a file atomically: the chunks go to a temporary file in the same directory, which is
 * flushed to disk and then renamed over `file`, so readers see the old file or the new one.
 */
export function writeFileAtomicSync(file: string, chunks: Iterable<Uint8Array>): void {
  const dir = path.dirname(path.resolve(file));
  const tmp = path.join(dir, `.${path.basename(file)}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`);
  const fd = fs.openSync(tmp, 'wx', 0o644);
  let ok = false;
  try {
    for (const chunk of chunks) {
      let off = 0;
      while (off < chunk.length) off += fs.writeSync(fd, chunk, off, chunk.length - off);
    }
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    fs.renameSync(tmp, file);
    ok = true;
  } finally {
    if (!ok) {
      try {
        fs.closeSync(fd);
      } catch {
        // already closed
      }
      fs.rmSync(tmp, { force: true });
    }
  }
  // Make the rename itself durable (not possible on every platform; best effort).
  try {
    const dfd = fs.openSync(dir, 'r');
    try {
      fs.fsyncSync(dfd);
    } finally {
      fs.closeSync(dfd);
    }
  } catch {
    // directories cannot be fsynced here (Windows)
  }
}
