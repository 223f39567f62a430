/**
 * The words Mayday understands in a text, in every language: a responder's `ACK`, `1` or
 * `ACK <code>`, and `OK` or `OK <code>` (on-call readiness); a driver's SAFE, HELP and SOS, or
 * BIEN, AYUDA and SOS in Spanish. It imports nothing, so the SMS handler and the phone simulator
 * read a text alike.
 */

/** "  ack   1042 " → "ACK 1042": case and spacing do not matter. */
export const normalize = (body: string) => body.normalize('NFKC').trim().replace(/\s+/g, ' ').toUpperCase();

/**
 * A responder's acknowledgement: `ACK` or `1` (the newest incident paged to them, code null) or
 * `ACK <code>` (also `ACK#1042`, `ack 1042`); undefined for anything else.
 */
export function ackOf(body: string): { code: number | null } | undefined {
  const text = normalize(body);
  if (text === 'ACK' || text === '1') return { code: null };
  const named = /^ACK ?#?(\d{1,9})$/.exec(text);
  return named ? { code: Number(named[1]) } : undefined;
}

/**
 * A responder's reply to an on-call readiness check: `OK` (the one check waiting, code null) or
 * `OK <code>` (also `OK#104`, `ok 104`), the same in every language; undefined for anything else.
 */
export function okOf(body: string): { code: number | null } | undefined {
  const text = normalize(body);
  if (text === 'OK') return { code: null };
  const named = /^OK ?#?(\d{1,9})$/.exec(text);
  return named ? { code: Number(named[1]) } : undefined;
}

/** A responder's request for police: `911 <code>` (also `911 #1042`, `911#1042`); undefined for anything else. */
export function dispatchOf(body: string): { code: number } | undefined {
  const named = /^911 ?#?(\d{1,9})$/.exec(normalize(body));
  return named ? { code: Number(named[1]) } : undefined;
}

export type DriverWord = 'safe' | 'help' | 'sos';

/** Every driver understood in every language: a Spanish speaker's phone may say SAFE, an English speaker's AYUDA. */
const DRIVER_WORDS = new Map<string, DriverWord>([
  ['SAFE', 'safe'], ['BIEN', 'safe'],
  ['HELP', 'help'], ['AYUDA', 'help'],
  ['SOS', 'sos'],
]);

/**
 * What a driver's text asks, from its letters alone: case, accents, spaces and punctuation do
 * not matter (" Ayuda ", "¡AYÚDA!", "s.o.s", "Help!"). Undefined for any other text.
 */
export function driverWord(body: string): DriverWord | undefined {
  const letters = body.normalize('NFKD').replace(/\p{M}+/gu, '').toUpperCase().replace(/[^A-Z]/g, '');
  return DRIVER_WORDS.get(letters);
}
