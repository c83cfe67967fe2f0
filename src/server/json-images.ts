// Replies that carry images as PNG data URLs are mostly base64 text: a 16-image StackGAN reply is
// 3 MB. Built as one JavaScript string, that text is escaped, measured and re-encoded on the HTTP
// thread (about 50 ms a reply), stalling every other client. Here the reply is JSON.stringify of
// its small part, with each image a placeholder, and the base64 bytes spliced in as Buffers; the
// generation thread encodes the base64 beside the PNG, so the HTTP thread only copies bytes.
import crypto from 'node:crypto';

const encoded = new WeakMap<Buffer, Buffer>();

/** Records `png`'s base64 text (ASCII bytes), made where the PNG was made. */
export function rememberBase64(png: Buffer, base64: Buffer): void {
  encoded.set(png, base64);
}

/** The base64 text of a PNG as ASCII bytes: the one made with it, or made now. */
export function base64Of(png: Buffer): Buffer {
  return encoded.get(png) ?? Buffer.from(png.toString('base64'), 'latin1');
}

const PREFIX = Buffer.from('data:image/png;base64,', 'latin1');

/** Collects the images of one reply and writes the reply with them spliced in. */
export class JsonWithImages {
  private readonly images: Buffer[] = [];
  // Random per reply, so no text a client sent (echoed in the reply) can be taken for an image.
  private readonly nonce = crypto.randomBytes(9).toString('base64url');

  /** A stand-in for the image's data URL, to put where the data URL goes. */
  dataUrl(png: Buffer): string {
    this.images.push(base64Of(png));
    return `@${this.nonce}:${this.images.length - 1}@`;
  }

  /** `value` as JSON bytes, each stand-in replaced by its data URL. */
  toBuffer(value: unknown): Buffer {
    const text = JSON.stringify(value);
    const parts: Buffer[] = [];
    const marker = new RegExp(`@${this.nonce}:(\\d+)@`, 'g');
    let at = 0;
    for (const m of text.matchAll(marker)) {
      parts.push(Buffer.from(text.slice(at, m.index), 'utf8'), PREFIX, this.images[Number(m[1])]!);
      at = m.index + m[0].length;
    }
    parts.push(Buffer.from(text.slice(at), 'utf8'));
    return Buffer.concat(parts);
  }
}
