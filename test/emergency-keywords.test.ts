import { describe, expect, it } from 'vitest';
import { KINDS } from '../src/incidents/schemas';
import { EMERGENCY_KEYWORDS, normalise, readsAsEmergency } from '../src/support/emergency';

describe('the emergency keyword list', () => {
  it('holds every word the issue names, each with a kind an incident can have', () => {
    const phrases = EMERGENCY_KEYWORDS.map((k) => k.phrase);
    for (const w of ['gunpoint', 'gun', 'shot', 'shooting', 'robbed', 'robbery', 'stabbed', 'assault', 'attacked', 'kidnapped', 'crash', 'bleeding', 'help me']) {
      expect(phrases).toContain(w);
    }
    for (const k of EMERGENCY_KEYWORDS) expect(KINDS).toContain(k.kind);
  });

  it('has no duplicates, and every phrase is already in normal form (else it could never match)', () => {
    const phrases = EMERGENCY_KEYWORDS.map((k) => k.phrase);
    expect(new Set(phrases).size).toBe(phrases.length);
    for (const p of phrases) expect(normalise(p), p).toBe(p);
  });

  it('every phrase, alone in a sentence, reads as an emergency of its own kind or an earlier one', () => {
    for (const [i, k] of EMERGENCY_KEYWORDS.entries()) {
      const hit = readsAsEmergency(`Hello. ${k.phrase.toUpperCase()}!!`);
      expect(hit, k.phrase).not.toBeNull();
      // The first match in list order wins, so it is this entry or one listed before it.
      expect(EMERGENCY_KEYWORDS.findIndex((e) => e.phrase === hit!.keyword), k.phrase).toBeLessThanOrEqual(i);
    }
  });
});

describe('readsAsEmergency', () => {
  it.each([
    ['I was robbed at gunpoint', 'robbed', 'robbery'],
    ['i was ROBBED at gun-point!!!', 'robbed', 'robbery'],
    ['held at gunpoint by the customer', 'gunpoint', 'robbery'],
    ['he has a GUN', 'gun', 'shooting'],
    ['Someone shot at my car', 'shot', 'shooting'],
    ['shots fired near the restaurant', 'shots', 'shooting'],
    ['I have been stabbed', 'stabbed', 'assault'],
    ['a customer attacked me', 'attacked', 'assault'],
    ['I think I am being kidnapped', 'kidnapped', 'assault'],
    ['the driver next to me is having a heart attack', 'heart attack', 'medical'],
    ["I'm bleeding", 'bleeding', 'medical'],
    ["I can't breathe", 'cant breathe', 'medical'],
    ['bad crash on I-49, I am hurt', 'crash', 'crash'],
    ['a man keeps following me', 'following me', 'harassment'],
    ['HELP ME', 'help me', 'other'],
    ['please... help-me', 'help me', 'other'],
    ['help\nme', 'help me', 'other'],
    ['please call 911', 'call 911', 'other'],
  ])('%j → %s (%s)', (text, keyword, kind) => {
    expect(readsAsEmergency(text)).toEqual({ keyword, kind });
  });

  it('is case-, punctuation-, accent-, width- and spacing-insensitive', () => {
    for (const text of [
      'GUNPOINT', 'gunpoint.', '"gunpoint"', '(gunpoint)', '¡gunpoint!', 'gunpoint…', '  gunpoint  ',
      'ｇｕｎｐｏｉｎｔ', // fullwidth
      'gúnpoint', // an accent
      'gun\u200bpoint', // a zero-width space inside the word
      'at\tgunpoint\r\n',
    ]) {
      expect(readsAsEmergency(text)?.keyword, JSON.stringify(text)).toBe('gunpoint');
    }
    expect(readsAsEmergency('HeLp    ME')?.keyword).toBe('help me');
    expect(readsAsEmergency('help,me')?.keyword).toBe('help me');
    expect(readsAsEmergency('I’m in danger')?.keyword).toBe('in danger');
  });

  it('matches whole words only', () => {
    for (const text of [
      'Here is a screenshot of my payment', // shot
      'the delivery has begun', // gun
      'my customer Gunther was rude', // gun
      'my shotgun-shaped keychain', // shot, gun
      'gunk on my windshield', // gun
      'the app keeps crashing', // crash
      'crashpad', // crash
      'scrubbed the seats', // robbed
      'helpme', // help me
    ]) {
      expect(readsAsEmergency(text), text).toBeNull();
    }
    // Listed inflections do match.
    expect(readsAsEmergency('the robbers left')?.keyword).toBe('robbers');
    expect(readsAsEmergency('two attackers')?.keyword).toBe('attackers');
    expect(readsAsEmergency('I got mugged')?.keyword).toBe('mugged');
  });

  it('leaves ordinary tickets alone', () => {
    for (const text of [
      'Screenshot of my payment attached, the tip is missing',
      'I was not paid for the order on Tuesday',
      'The app freezes when I open the map',
      'Can I change my schedule for next week?',
      'Please reset my password',
      'My emergency contact number changed',
      'The restaurant gave me the wrong order',
    ]) {
      expect(readsAsEmergency(text), text).toBeNull();
    }
  });

  it('leans wide on purpose: "help me" and "shot" count wherever they stand', () => {
    // Documented trade-off (see src/support/emergency.ts): a wasted page over a driver left waiting.
    expect(readsAsEmergency('can you help me with my payout')?.keyword).toBe('help me');
    expect(readsAsEmergency('I took a screen-shot')?.keyword).toBe('shot');
  });

  it('answers null for empty or punctuation-only text', () => {
    for (const text of ['', '   ', '!!!', '\u200b']) expect(readsAsEmergency(text)).toBeNull();
  });
});
