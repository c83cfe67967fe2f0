// A latent as a token: "z1." + the noise as little-endian float32, base64url. Self-contained, so a
// link can carry it, any server or worker can read it, and nothing is stored: no latent expires.
import { badRequest } from './errors.js';

const PREFIX = 'z1.';
/** Wider than any model's noise; a longer token is not a latent. */
const MAX_WIDTH = 1024;

export function encodeLatent(z: readonly number[]): string {
  const f = Float32Array.from(z);
  return PREFIX + Buffer.from(f.buffer, f.byteOffset, f.byteLength).toString('base64url');
}

/** The numbers of a token; 400 with the reason for anything that is not one. */
export function decodeLatent(token: string): number[] {
  if (!token.startsWith(PREFIX)) throw badRequest('not a latent token: it should start with "z1."');
  const bytes = Buffer.from(token.slice(PREFIX.length), 'base64url');
  if (bytes.length === 0 || bytes.length % 4 !== 0 || bytes.length > MAX_WIDTH * 4)
    throw badRequest('not a latent token: its bytes are not a list of float32 numbers');
  // Not every character string decodes: a mangled token re-encodes differently.
  if (bytes.toString('base64url') !== token.slice(PREFIX.length)) throw badRequest('not a latent token: bad base64url');
  const f = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length));
  const z = Array.from(f);
  // The prior is N(0, 1): a value past ±20 is no latent of it (and would saturate the generator).
  if (!z.every((x) => Number.isFinite(x) && Math.abs(x) <= 20))
    throw badRequest('not a latent token: its numbers must be finite and within ±20');
  return z;
}
