/**
 * Free text as PostgreSQL can store it. A text value cannot hold U+0000, and a lone UTF-16
 * surrogate has no UTF-8 form (jsonb refuses its escape): each becomes U+FFFD, the replacement
 * character, and every other character is kept as it was. `cleaned` says whether anything was
 * replaced, so the timeline can record it: a stray character must never cost an SOS.
 */
const UNSTORABLE = /\u0000|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

export function storableText(s: string): { text: string; cleaned: boolean } {
  const text = s.replace(UNSTORABLE, '\uFFFD');
  return { text, cleaned: text !== s };
}
