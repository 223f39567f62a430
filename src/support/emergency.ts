import type { Kind } from '../incidents/schemas';

/**
 * When a support request reads as an emergency: the one list of words and phrases, and the
 * matcher. A request that matches is promoted to an incident at once and never waits in the queue.
 *
 * The trade-off is deliberate: a false positive costs a page to a supervisor; a false negative
 * leaves a driver in danger waiting behind payment questions. So the list leans wide ("help me",
 * "shot", "crash" all count, whatever else the ticket says) and there is no list of exceptions
 * that could mask a real emergency.
 *
 * Matching is on whole words and whole phrases of the normalised text (see normalise()): "gun"
 * matches "a gun!" and "GUN", never "begun" or "Gunther"; "shot" never matches "screenshot".
 * Inflections are listed explicitly ("robbed", "robbery", "robbing") instead of matching by prefix.
 *
 * The list is in priority order: the first entry found names the incident's kind, so the
 * robbery words come first ("robbed at gunpoint" is a robbery), then shooting, assault, medical
 * (ahead of the assault word "attack", so "heart attack" is medical), crash, harassment, and the
 * plain cries for help (kind `other`). Kidnapping is graded as an assault, so that it is critical.
 */
export const EMERGENCY_KEYWORDS: readonly { phrase: string; kind: Kind }[] = [
  ...words('robbery', [
    'robbed', 'robbery', 'robbing', 'rob me', 'robber', 'robbers', 'gunpoint', 'knifepoint', 'mugged', 'mugging',
    'carjacked', 'carjacking', 'carjacker', 'hijacked',
  ]),
  ...words('shooting', ['gun', 'guns', 'gunman', 'gunmen', 'gunshot', 'gunshots', 'gunfire', 'shot', 'shots', 'shooting', 'shooter', 'shoot']),
  ...words('medical', [
    'heart attack', 'bleeding', 'unconscious', 'not breathing', 'cant breathe', 'cannot breathe', 'seizure', 'overdose',
    'ambulance', 'injured',
  ]),
  ...words('assault', [
    'stabbed', 'stabbing', 'knife', 'assault', 'assaulted', 'attack', 'attacked', 'attacker', 'attackers', 'attacking', 'beat me',
    'beating me', 'punched', 'rape', 'raped', 'kidnapped', 'kidnapping', 'abducted', 'hostage', 'kill me', 'killed',
  ]),
  ...words('crash', ['crash', 'crashed into', 'collision', 'car accident', 'hit by a car', 'hit and run']),
  ...words('harassment', ['following me', 'stalking me', 'threatened me', 'threatening me']),
  ...words('other', [
    'help me', 'call 911', '911', 'call the police', 'call police', 'called the police', 'called police', 'in danger',
    'this is an emergency', 'its an emergency',
  ]),
];

function words(kind: Kind, phrases: string[]) {
  return phrases.map((phrase) => ({ phrase, kind }));
}

/**
 * Text as the matcher sees it: compatibility-normalised (fullwidth and styled letters become
 * plain ones), accents and invisible format characters (zero-width spaces) removed, lower case,
 * apostrophes dropped ("can't" → "cant"), every other run of non-letters-or-digits one space.
 */
export function normalise(text: string): string {
  return text
    .normalize('NFKD')
    .toLowerCase()
    .replace(/[\p{M}\p{Cf}]/gu, '')
    .replace(/['\u2018\u2019\u02bc`´]/g, '')
    .replace(/[^\p{L}\p{N}]+/gu, ' ')
    .trim();
}

// The phrases as they will be compared: normalised the same way, padded so that only whole words match.
const PADDED = EMERGENCY_KEYWORDS.map((k) => ({ ...k, padded: ` ${normalise(k.phrase)} ` }));

/** The first keyword (in priority order) that `text` contains as whole words, or null. */
export function readsAsEmergency(text: string): { keyword: string; kind: Kind } | null {
  const t = ` ${normalise(text)} `;
  for (const k of PADDED) if (t.includes(k.padded)) return { keyword: k.phrase, kind: k.kind };
  return null;
}
