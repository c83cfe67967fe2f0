// Caption tokenizer: the word-level splitting the text encoders (AttnGAN's DAMSM LSTM, GAN-INT-CLS)
// and the vocabulary use. Close to AttnGAN's `RegexpTokenizer(r'\w+')` on lowercased text, with
// three deliberate differences:
//   - apostrophes inside a word are kept: "bird's" → "bird's", "doesn't" → "doesn't" (AttnGAN
//     splits them into "bird" + "s"); apostrophes at either end of a word are dropped ("tarsus'" →
//     "tarsus"), and typographic ones (’ ‘ ʼ ` ´ ′) count as "'";
//   - the underscore separates words (in Python's \w it is a word character);
//   - non-ASCII letters are kept ("café" stays "café"; AttnGAN drops non-ASCII characters).

/** Identifies these tokenization rules; stored with a vocabulary so a changed tokenizer is noticed. */
export const TOKENIZER_ID = 'words-nfkc-lower-v1';

// Apostrophe look-alikes, mapped to "'" before normalisation (NFKC would turn ´ into a space and a
// combining accent).
const APOSTROPHES = /[\u2018\u2019\u02BC\u0060\u00B4\u2032\uFF07]/g;
// Invisible format characters (soft hyphen, zero-width joiners, BOM, emoji tags, ...) and variation
// selectors are removed so that they neither split a word nor become part of one; a zero-width
// space first becomes a real one.
const ZERO_WIDTH_SPACE = /\u200B/g;
const INVISIBLE = /[\p{Cf}\uFE00-\uFE0F\u{E0100}-\u{E01EF}]/gu;
// A word: a letter or digit, then letters, digits and combining marks, optionally continued after
// single inner apostrophes. Everything else (punctuation, symbols, emoji, controls, spaces) separates
// words. The groups are separated by a mandatory "'", so matching is linear in the input length.
const WORD = /[\p{L}\p{N}][\p{L}\p{N}\p{M}]*(?:'[\p{L}\p{N}][\p{L}\p{N}\p{M}]*)*/gu;

/**
 * Splits a caption into lowercase words: Unicode NFKC normalisation (full-width letters, ligatures
 * and superscripts become their plain forms), lowercase, then runs of letters/digits with inner
 * apostrophes kept. Never returns empty tokens; an empty or punctuation-only caption gives [].
 * Scripts written without spaces (Chinese, Japanese) are not segmented: a run is one token.
 * @example tokenize("This bird's wings are BLUE, 2-toned!") // ["this", "bird's", "wings", "are", "blue", "2", "toned"]
 */
export function tokenize(caption: string): string[] {
  if (typeof caption !== 'string')
    throw new TypeError(
      `tokenize() expects a string caption but received ${caption === null ? 'null' : typeof caption}`,
    );
  const text = caption
    .replace(APOSTROPHES, "'")
    .replace(ZERO_WIDTH_SPACE, ' ')
    .replace(INVISIBLE, '')
    .normalize('NFKC')
    .toLowerCase()
    // Lowercasing can leave a few sequences un-normalised (e.g. "İ" → "i" + combining dot).
    .normalize('NFKC');
  return text.match(WORD) ?? [];
}
