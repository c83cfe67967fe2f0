// Captions arrive from anywhere: the schema bounds their length, this checks what a schema cannot.
import { badRequest } from './errors.js';

// C0 controls other than tab/newline/carriage return, DEL, and C1 controls.
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROL = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]/u;
// A lone surrogate: valid JSON ("\ud800") but not text.
const LONE_SURROGATE = /\p{Cs}/u;

/** The text with whitespace runs collapsed; 400 for control characters, lone surrogates or no words. */
export function cleanText(field: string, value: string): string {
  const control = CONTROL.exec(value);
  if (control !== null) {
    const c = control[0].codePointAt(0)!;
    throw badRequest(`${field} contains a control character (U+${c.toString(16).toUpperCase().padStart(4, '0')})`);
  }
  if (LONE_SURROGATE.test(value)) throw badRequest(`${field} is not valid Unicode (a lone surrogate)`);
  const text = value.replace(/\s+/gu, ' ').trim();
  if (text === '') throw badRequest(`${field} is empty`);
  return text;
}
