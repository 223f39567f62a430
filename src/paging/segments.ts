/**
 * How many SMS segments a text costs. A text whose every character is in GSM 03.38 (the basic
 * set, or the extension table at two septets each) is sent as GSM-7: 160 septets alone, 153 per
 * segment when split. Anything else makes the whole text UCS-2: 70 UTF-16 code units alone, 67
 * per segment when split. A split never cuts an extension character's escape pair or a surrogate
 * pair, so a segment can hold one less.
 */

const GSM_BASIC = new Set(
  '@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !"#¤%&\'()*+,-./0123456789:;<=>?' +
    '¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà',
);
const GSM_EXTENSION = new Set('\f^{}\\[~]|€');

export type Encoding = 'GSM-7' | 'UCS-2';

export interface Segments {
  encoding: Encoding;
  /** Septets (GSM-7) or UTF-16 code units (UCS-2). */
  units: number;
  segments: number;
}

/** A page may take at most this many segments, in every language. */
export const MAX_SEGMENTS = 2;

/** Whether every character of `text` can be sent as GSM-7. */
export function isGsm7(text: string): boolean {
  for (const ch of text) if (!GSM_BASIC.has(ch) && !GSM_EXTENSION.has(ch)) return false;
  return true;
}

/** The encoding, size and number of segments of one SMS. */
export function segmentsOf(text: string): Segments {
  // Each character's size in the encoding's units: a split may fall only between characters.
  const gsm = isGsm7(text);
  const sizes = Array.from(text, (ch) => (gsm ? (GSM_EXTENSION.has(ch) ? 2 : 1) : ch.length));
  const units = sizes.reduce((a, b) => a + b, 0);
  const single = gsm ? 160 : 70;
  const perPart = gsm ? 153 : 67;
  if (units <= single) return { encoding: gsm ? 'GSM-7' : 'UCS-2', units, segments: units === 0 ? 0 : 1 };
  let segments = 1;
  let used = 0;
  for (const size of sizes) {
    if (used + size > perPart) {
      segments++;
      used = 0;
    }
    used += size;
  }
  return { encoding: gsm ? 'GSM-7' : 'UCS-2', units, segments };
}

/** Whether `text` fits in `max` segments. */
export const fits = (text: string, max = MAX_SEGMENTS) => segmentsOf(text).segments <= max;

/** The first text that fits in MAX_SEGMENTS, else the last (the shortest form a caller could make). */
export function firstThatFits(texts: Iterable<string>): string {
  let last = '';
  for (const text of texts) {
    if (fits(text)) return text;
    last = text;
  }
  return last;
}

const segmenter = new Intl.Segmenter(undefined, { granularity: 'grapheme' });
const graphemes = (s: string): string[] => Array.from(segmenter.segment(s), (g) => g.segment);

/**
 * `name` cut to at most `max` characters as a reader counts them (an accented letter or an emoji
 * is one, never split), and to at most twice that in UTF-16 units (a family emoji is eleven),
 * ending in an ellipsis when cut: "..." in a GSM-7 text (where "…" would turn the whole text to
 * UCS-2), "…" otherwise.
 */
export function truncate(name: string, max: number, gsm: boolean): string {
  const g = graphemes(name);
  if (g.length <= max && name.length <= 2 * max) return name;
  const ellipsis = gsm ? '...' : '…';
  let out = '';
  for (const c of g.slice(0, Math.max(1, max - ellipsis.length))) {
    if (out.length + c.length > 2 * max - ellipsis.length) break;
    out += c;
  }
  return out.trimEnd() + ellipsis;
}

/**
 * `name` in GSM-7 where it can be: accents a GSM-7 phone cannot show dropped (María → Maria;
 * é, ñ, ü and the others GSM-7 has are kept), typographic quotes and dashes made plain, and
 * emoji and other symbols left out. Letters of other scripts are kept as they are: a name is
 * never made unreadable to save a segment.
 */
export function plainName(name: string): string {
  let out = '';
  for (const g of graphemes(name)) {
    if (isGsm7(g)) {
      out += g;
      continue;
    }
    const bare = g.normalize('NFD').replace(/\p{M}+/gu, '');
    const composed = bare.normalize('NFC');
    if (composed && isGsm7(composed)) out += composed;
    else if (/[‘’‚‛]/.test(g)) out += "'";
    else if (/[“”„‟]/.test(g)) out += '"';
    else if (/[‐‑‒–—―]/.test(g)) out += '-';
    else if (/^[\p{Extended_Pictographic}\p{S}\p{Cf}\uFE0F\u200D]+$/u.test(g)) continue;
    else if (/^\s+$/u.test(g)) out += ' ';
    else out += g;
  }
  return out.replace(/ {2,}/g, ' ').trim() || name;
}
