/**
 * Every text Mayday writes to a person comes from here: one catalogue per language (en/, es/),
 * each in two parts, `phone` (SMS and voice) and `app` (the driver app at /app). The English
 * catalogue defines the keys; the Spanish one must have the same keys (the type checker and
 * test/i18n.test.ts both refuse a missing one). Values are plain strings with `{name}`
 * placeholders, so the app can be sent its part as JSON.
 */
import { en, type Catalogue } from './en';
import { es } from './es';

export const LANGUAGES = ['en', 'es'] as const;
export type Language = (typeof LANGUAGES)[number];
export type { Catalogue };

export const CATALOGUES: Record<Language, Catalogue> = { en, es };

/** "phone.ackDone" style paths to every string of a catalogue. */
type Paths<T, P extends string = ''> = {
  [K in keyof T & string]: T[K] extends string ? `${P}${K}` : Paths<T[K], `${P}${K}.`>;
}[keyof T & string];
export type MessageKey = Paths<Catalogue>;

export const isLanguage = (x: unknown): x is Language => x === 'en' || x === 'es';

/** The locale a voice page speaks in, per language (TwiML <Say language>): Latin-American Spanish. */
export const SPEECH_LOCALE: Record<Language, string> = { en: 'en-US', es: 'es-MX' };

/** The string at `key` in `lang`'s catalogue with its `{placeholders}` filled in. */
export function t(lang: Language | string | null | undefined, key: MessageKey, params: Record<string, string | number> = {}): string {
  let node: unknown = CATALOGUES[isLanguage(lang) ? lang : 'en'];
  for (const part of key.split('.')) node = (node as Record<string, unknown>)[part];
  if (typeof node !== 'string') throw new Error(`no message ${key}`);
  return fill(node, params);
}

/** Replaces each `{name}` with params.name; a placeholder without a value is a bug, so it throws. */
export function fill(template: string, params: Record<string, string | number>): string {
  return template.replace(/\{(\w+)\}/g, (_, name: string) => {
    const v = params[name];
    if (v === undefined) throw new Error(`message placeholder {${name}} has no value`);
    return String(v);
  });
}

/** Every key path of a catalogue (for the completeness test). */
export function keysOf(node: unknown, prefix = ''): string[] {
  if (typeof node === 'string') return [prefix];
  return Object.entries(node as Record<string, unknown>).flatMap(([k, v]) => keysOf(v, prefix ? `${prefix}.${k}` : k));
}
