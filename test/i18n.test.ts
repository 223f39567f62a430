/**
 * Languages (issue 19): one catalogue per language with the same keys and placeholders; every
 * page within two SMS segments in both languages, whatever the names, code and fix; Spanish
 * speakers paged, asked and answered in Spanish (voice in es-MX); BIEN / AYUDA / SOS from any
 * driver; `language` on the people the admin API creates.
 */
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CATALOGUES, keysOf, LANGUAGES, SPEECH_LOCALE } from '../src/i18n/catalogue';
import { driverWord } from '../src/inbound/keywords';
import { pageCall, pageScript, smsFor } from '../src/paging/messages';
import { plainName, segmentsOf, truncate } from '../src/paging/segments';
import type { ClaimedPage } from '../src/paging/store';
import { ADMIN_TOKEN, testApp, type TestApp } from './helpers/app';
import { expectError } from './helpers/expect';
import { mockTwilio, postSigned, press, TWILIO, type Sent } from './helpers/twilio';
import { nextPhone, square, world, type Person } from './helpers/world';

// ---------------------------------------------------------------------------------------------
// The catalogue

/** Each key's string, by path. */
const strings = (node: unknown, prefix = ''): Map<string, unknown> =>
  new Map(keysOf(node, prefix).map((k) => [k, k.split('.').reduce<unknown>((n, part) => (n as Record<string, unknown>)[part], node)]));
const placeholders = (s: string) => [...new Set([...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1]))].sort();

/** Why two catalogues are not complete translations of each other: a key missing in one, an empty string, other placeholders. */
function catalogueProblems(a: Record<string, unknown>, b: Record<string, unknown>, names = ['en', 'es']): string[] {
  const [sa, sb] = [strings(a), strings(b)];
  const problems: string[] = [];
  for (const [k, v] of sa) {
    if (!sb.has(k)) problems.push(`${k}: missing in ${names[1]}`);
    else if (typeof sb.get(k) === 'string' && typeof v === 'string' && placeholders(v).join() !== placeholders(sb.get(k) as string).join()) {
      problems.push(`${k}: placeholders {${placeholders(v).join('}, {')}} in ${names[0]}, {${placeholders(sb.get(k) as string).join('}, {')}} in ${names[1]}`);
    }
  }
  for (const k of sb.keys()) if (!sa.has(k)) problems.push(`${k}: missing in ${names[0]}`);
  for (const [name, s] of [[names[0], sa], [names[1], sb]] as const) {
    for (const [k, v] of s) if (typeof v !== 'string' || v.trim() === '') problems.push(`${k}: empty or not a string in ${name}`);
  }
  return problems;
}

describe('the message catalogue', () => {
  it('every key in English exists in Spanish and the other way round, none empty, with the same {placeholders}', () => {
    expect(LANGUAGES).toEqual(['en', 'es']);
    expect(catalogueProblems(CATALOGUES.en, CATALOGUES.es)).toEqual([]);
    expect(keysOf(CATALOGUES.en.phone).length).toBeGreaterThan(40);
  });

  it('the check itself finds a missing key, an empty string and a placeholder of the other language', () => {
    const es = structuredClone(CATALOGUES.es) as unknown as { phone: Record<string, Record<string, string>> };
    delete es.phone.reply.safe;
    es.phone.call.goodbye = ' ';
    es.phone.reply.notPaged = 'Mayday: #{codigo}';
    expect(catalogueProblems(CATALOGUES.en, es)).toEqual([
      'phone.reply.notPaged: placeholders {code} in en, {codigo} in es',
      'phone.reply.safe: missing in es',
      'phone.call.goodbye: empty or not a string in es',
    ]);
  });

  it('voice pages are spoken in en-US and es-MX', () => {
    expect(SPEECH_LOCALE).toEqual({ en: 'en-US', es: 'es-MX' });
  });
});

// ---------------------------------------------------------------------------------------------
// Segments

describe('the segment counter', () => {
  it('counts GSM-7 in septets: 160 alone, 153 a segment when split, an extension character two', () => {
    expect(segmentsOf('a'.repeat(160))).toEqual({ encoding: 'GSM-7', units: 160, segments: 1 });
    expect(segmentsOf('a'.repeat(161))).toEqual({ encoding: 'GSM-7', units: 161, segments: 2 });
    expect(segmentsOf('a'.repeat(306))).toEqual({ encoding: 'GSM-7', units: 306, segments: 2 });
    expect(segmentsOf('a'.repeat(307))).toEqual({ encoding: 'GSM-7', units: 307, segments: 3 });
    expect(segmentsOf('€'.repeat(80))).toEqual({ encoding: 'GSM-7', units: 160, segments: 1 });
    expect(segmentsOf('[' + 'a'.repeat(159))).toEqual({ encoding: 'GSM-7', units: 161, segments: 2 });
    // An escape pair is never split: 152 septets and "€" do not share a 153-septet segment.
    expect(segmentsOf('a'.repeat(152) + '€' + 'a'.repeat(152))).toEqual({ encoding: 'GSM-7', units: 306, segments: 3 });
    // The Spanish letters GSM-7 has: é, ñ, ü, ¿, ¡ (and É, Ñ, Ü).
    expect(segmentsOf('¿Está?').encoding).toBe('UCS-2');
    expect(segmentsOf('¡Señor! ¿Qué pasó con el pingüino? ÉÑÜ').encoding).toBe('UCS-2'); // ó
    expect(segmentsOf('¡Señor! ¿Qué pasa con el pingüino? ÉÑÜ').encoding).toBe('GSM-7');
  });

  it('counts UCS-2 in UTF-16 units: 70 alone, 67 a segment when split, an emoji two and never split', () => {
    expect(segmentsOf('á'.repeat(70))).toEqual({ encoding: 'UCS-2', units: 70, segments: 1 });
    expect(segmentsOf('á'.repeat(71))).toEqual({ encoding: 'UCS-2', units: 71, segments: 2 });
    expect(segmentsOf('á'.repeat(134))).toEqual({ encoding: 'UCS-2', units: 134, segments: 2 });
    expect(segmentsOf('á'.repeat(135))).toEqual({ encoding: 'UCS-2', units: 135, segments: 3 });
    expect(segmentsOf('🚗'.repeat(35))).toEqual({ encoding: 'UCS-2', units: 70, segments: 1 });
    expect(segmentsOf('🚗'.repeat(36))).toEqual({ encoding: 'UCS-2', units: 72, segments: 2 });
    // 33 emoji (66 units) a segment: the 67th unit would split a pair.
    expect(segmentsOf('🚗'.repeat(67))).toEqual({ encoding: 'UCS-2', units: 134, segments: 3 });
    // One character outside GSM-7 makes the whole text UCS-2.
    expect(segmentsOf('a'.repeat(100) + '±')).toEqual({ encoding: 'UCS-2', units: 101, segments: 2 });
    expect(segmentsOf('a'.repeat(100) + '…').encoding).toBe('UCS-2');
  });

  it('cuts names by what a reader counts as a character, and keeps a name GSM-7 where it can', () => {
    expect(truncate('Dana Kim', 10, true)).toBe('Dana Kim');
    expect(truncate('Alexandria Ocasio', 10, true)).toBe('Alexand...');
    expect(truncate('Alexandria Ocasio', 10, false)).toBe('Alexandri…');
    expect(truncate('🚗🚗🚗🚗', 3, false)).toBe('🚗🚗…'); // never half an emoji
    // A family emoji is one character of eleven UTF-16 units: a cut keeps at most twice `max` units.
    expect(truncate('👩‍👩‍👧‍👦👩‍👩‍👧‍👦👩‍👩‍👧‍👦', 6, false)).toBe('👩‍👩‍👧‍👦…');
    expect(truncate('👩‍👩‍👧‍👦👩‍👩‍👧‍👦👩‍👩‍👧‍👦', 2, false)).toBe('…');
    expect(plainName('María José Núñez')).toBe('Maria José Nuñez'); // é and ñ are GSM-7
    expect(plainName('Dana “Dee” Kim 🚗💨')).toBe('Dana "Dee" Kim');
    expect(plainName('王伟')).toBe('王伟'); // another script is kept, not erased
    expect(plainName('🚗')).toBe('🚗'); // nothing left: the name as it was
  });
});

const NOW = new Date('2026-12-07T12:00:00Z');

function claimed(over: Partial<ClaimedPage>): ClaimedPage {
  return {
    id: '00000000-0000-4000-8000-000000000001', incident_id: '00000000-0000-4000-8000-000000000002', recipient_id: '00000000-0000-4000-8000-000000000003',
    phone: '+15550100001', channel: 'sms', purpose: 'page', note: null, step: 0, round: 0, attempt: 1, tries: 1,
    code: 1042, kind: 'robbery', severity: 'critical', incident_status: 'open',
    lat: 36.3729, lng: -94.2088, accuracy_m: 8, location_at: new Date(NOW.getTime() - 12_000),
    driver_name: 'Dana Kim', zone_name: 'Bentonville', recipient_name: 'Ava Ortiz', recipient_language: 'en',
    ...over,
  };
}

const NAMES = {
  short: { driver: 'Dana Kim', zone: 'Centro' },
  '200 characters': { driver: 'Maximiliano '.repeat(17).slice(0, 200), zone: 'Zona Metropolitana del Valle '.repeat(7).slice(0, 200) },
  '200 characters, no spaces': { driver: 'D'.repeat(200), zone: 'Z'.repeat(200) },
  accented: { driver: 'María José Núñez Ibáñez', zone: 'Álamo Sur – Tlaquepaque' },
  '200 accented': { driver: 'Ñandú Ávila Pérez Íñiguez '.repeat(8).slice(0, 200), zone: 'Zócalo Ánimas '.repeat(15).slice(0, 200) },
  emoji: { driver: 'Dana 🚗💨 Kim', zone: 'Zona 🌮' },
  '200 emoji': { driver: '🚨'.repeat(100), zone: '👩‍👩‍👧‍👦'.repeat(18) },
  'emoji of eleven units': { driver: '👩‍👩‍👧‍👦'.repeat(18), zone: '🏳️‍🌈'.repeat(33) },
  'another script': { driver: '王伟'.repeat(100), zone: 'Москва'.repeat(33) },
};
const PURPOSES: Partial<ClaimedPage>[] = [
  { purpose: 'page' },
  { purpose: 'page', round: 12 },
  { purpose: 'failover' },
  { purpose: 'retry' },
  { purpose: 'repage', note: 'need_help' },
  { purpose: 'repage', note: 'checkin_missed' },
  { purpose: 'repage', note: null },
  { purpose: 'duress' },
  { purpose: 'notice' },
  { purpose: 'checkin' },
  { purpose: 'dispatch', note: 'failed' },
  { purpose: 'dispatch', note: 'psap_contacted' },
  { purpose: 'dispatch', note: 'canceled_then_duress' },
];
const FIXES: Record<string, Partial<ClaimedPage>> = {
  'with a fix': {},
  'with a far, old, vague fix': { lat: -89.123456, lng: -179.654321, accuracy_m: 1_000_000, location_at: new Date(NOW.getTime() - 1_000 * 3600_000) },
  'without a fix': { lat: null, lng: null, accuracy_m: null, location_at: null },
};

describe('every page fits in two SMS segments', () => {
  for (const lang of LANGUAGES) {
    it(`${lang}: every purpose × names (short, 200 characters, accents, emoji, another script) × with and without a fix × any code`, () => {
      let n = 0;
      for (const purpose of PURPOSES) {
        for (const [namesAre, names] of Object.entries(NAMES)) {
          for (const [fixIs, fix] of Object.entries(FIXES)) {
            for (const code of [1000, 99_999, 2_147_483_647]) {
              const p = claimed({ ...purpose, ...fix, code, driver_name: names.driver, zone_name: names.zone, recipient_language: lang });
              const sms = smsFor(p, NOW);
              const what = `${lang} ${purpose.purpose}/${purpose.note ?? purpose.round ?? ''} ${namesAre} ${fixIs} #${code}: ${sms}`;
              expect(segmentsOf(sms).segments, what).toBeLessThanOrEqual(2);
              const informs = purpose.purpose === 'checkin' || purpose.purpose === 'notice' || purpose.note === 'psap_contacted';
              if (!informs) expect(sms, what).toContain(`ACK ${code}`);
              if (fix.lat === undefined && !informs) expect(sms, what).toContain('https://maps.google.com/?q=');
              n++;
            }
          }
        }
      }
      expect(n).toBe(PURPOSES.length * Object.keys(NAMES).length * Object.keys(FIXES).length * 3);
    });
  }

  it('a page with short names says everything: the English as before (in GSM-7), the Spanish in GSM-7 too', () => {
    const en = smsFor(claimed({}), NOW);
    expect(en).toBe(
      'MAYDAY #1042: ROBBERY - driver Dana Kim needs help in Bentonville. Last fix 36.37290,-94.20880 +/-8m, 12s ago: ' +
        'https://maps.google.com/?q=36.37290,-94.20880 Reply ACK 1042 to take it.',
    );
    expect(segmentsOf(en)).toMatchObject({ encoding: 'GSM-7', segments: 2 });
    const es = smsFor(claimed({ recipient_language: 'es' }), NOW);
    expect(es).toBe(
      'MAYDAY #1042: ROBO - Dana Kim necesita ayuda en Bentonville. GPS 36.37290,-94.20880 +/-8m, hace 12s: ' +
        'https://maps.google.com/?q=36.37290,-94.20880 Responda ACK 1042 para hacerse cargo.',
    );
    expect(segmentsOf(es)).toMatchObject({ encoding: 'GSM-7', segments: 2 });
    for (const lang of LANGUAGES) {
      for (const purpose of PURPOSES) {
        const sms = smsFor(claimed({ ...purpose, recipient_language: lang }), NOW);
        expect(segmentsOf(sms).encoding, sms).toBe('GSM-7');
      }
    }
  });

  it('what gives way first: the coordinates as text, then accents a phone cannot show in GSM-7, then the names’ length', () => {
    const accented = smsFor(claimed({ driver_name: 'María Núñez', zone_name: 'Álamo', recipient_language: 'es' }), NOW);
    expect(accented).toBe(
      'MAYDAY #1042: ROBO - Maria Nuñez necesita ayuda en Alamo. GPS +/-8m, hace 12s: https://maps.google.com/?q=36.37290,-94.20880 ' +
        'Responda ACK 1042 para hacerse cargo.',
    );
    // Without a fix the accents fit as they are (UCS-2, two segments).
    const noFix = smsFor(claimed({ driver_name: 'María Núñez', zone_name: 'Álamo', ...FIXES['without a fix'] }), NOW);
    expect(noFix).toContain('driver María Núñez needs help in Álamo');
    expect(segmentsOf(noFix)).toMatchObject({ encoding: 'UCS-2', segments: 2 });
    // Long names are cut, with "..." where the text stays GSM-7.
    const long = smsFor(claimed({ driver_name: NAMES['200 characters'].driver, zone_name: NAMES['200 characters'].zone }), NOW);
    expect(long).toMatch(/driver Maximiliano Maximiliano .*\.\.\. needs help in Zona Metropolitana .*\.\.\.\. Last fix/);
    // Emoji-only names are kept, cut with "…", in the short form, and the zone left out when even that is too long.
    const emoji = smsFor(claimed({ driver_name: NAMES['200 emoji'].driver, zone_name: NAMES['200 emoji'].zone, recipient_language: 'es' }), NOW);
    expect(emoji).toMatch(/^MAYDAY #1042: ROBO - (🚨){9}…\. GPS \+\/-8m, hace 12s: https:\/\/maps\.google\.com\/\?q=36\.37290,-94\.20880 Responda ACK 1042$/u);
  });

  it('the check-in and every reply and help text fit too', () => {
    for (const lang of LANGUAGES) {
      const phone = CATALOGUES[lang].phone;
      for (const [key, text] of strings(phone.reply)) {
        const filled = (text as string).replace(/\{code\}/g, '2147483647').replace(/\{name\}/g, 'N'.repeat(40)).replace(/\{status\}/g, phone.status.cancelRequested);
        expect(segmentsOf(filled).segments, `${lang} ${key}: ${filled}`).toBeLessThanOrEqual(2);
      }
      expect(segmentsOf(phone.checkin.sms.replace('{code}', '2147483647')).segments).toBe(1);
    }
  });
});

describe('voice pages', () => {
  it('speak the recipient’s language, with 1 to acknowledge in both', () => {
    const en = pageCall(claimed({ channel: 'voice' }));
    expect(en).toEqual({
      script: 'Mayday emergency. Robbery reported by driver Dana Kim in Bentonville. Incident 1 0 4 2. Location by text message. Press 1 to acknowledge and take this incident.',
      noKey: 'No key was pressed. Mayday will call again.',
      language: 'en-US',
    });
    const es = pageCall(claimed({ channel: 'voice', recipient_language: 'es', kind: 'assault' }));
    expect(es).toEqual({
      script:
        'Emergencia de Mayday. Dana Kim reporta una agresión en Bentonville. Incidente 1 0 4 2. La ubicación le llega por mensaje de texto. ' +
        'Presione 1 para confirmar y hacerse cargo de este incidente.',
      noKey: 'No se presionó ninguna tecla. Mayday volverá a llamar.',
      language: 'es-MX',
    });
    expect(pageScript(claimed({ purpose: 'duress', recipient_language: 'es' }))).toMatch(/^Alerta de Mayday: conductor bajo amenaza\. Dana Kim introdujo el PIN de amenaza\..*Presione 1/);
  });
});

describe('driver keywords, in every language', () => {
  it.each([
    ['SAFE', 'safe'], ['bien', 'safe'], [' Bien. ', 'safe'], ['B I E N', 'safe'],
    ['HELP', 'help'], ['Help!', 'help'], [' Ayuda ', 'help'], ['¡AYÚDA!', 'help'], ['ayuda', 'help'],
    ['sos', 'sos'], ['S.O.S.', 'sos'], ['SÓS', 'sos'],
  ] as const)('%j is %s', (text, word) => expect(driverWord(text)).toBe(word));

  it.each(['estoy bien', 'ayudame', 'ACK', '1', '', 'bienes'])('%j is none of them', (text) => expect(driverWord(text)).toBeUndefined());
});

// ---------------------------------------------------------------------------------------------
// Through the service: people with a language, pages and replies in it

const twilio = mockTwilio();
afterEach(() => twilio.expectNothingElse());

let t: TestApp;
let w: ReturnType<typeof world>;
let zone: { id: string };
let sid = 0;

/** A text to Mayday's number, with a message sid of its own (a retried sid opens nothing new). */
const text = (from: string, body: string) =>
  postSigned(t, '/webhooks/twilio/sms', { From: from, To: TWILIO.fromNumber, Body: body, MessageSid: `SMi18n${String(++sid).padStart(26, '0')}`, AccountSid: TWILIO.accountSid });
const message = (twiml: string) =>
  /<Message>([^<]*)<\/Message>/.exec(twiml)?.[1].replace(/&quot;/g, '"').replace(/&apos;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');

async function person(path: '/v1/drivers' | '/v1/responders', body: Record<string, unknown>): Promise<Person & { language: string }> {
  const res = await t.post(path, { phone: nextPhone(), ...body }, ADMIN_TOKEN);
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body;
}
const driver = (name: string, language?: 'en' | 'es') => person('/v1/drivers', { name, cancelPin: '2468', duressPin: '1357', ...(language ? { language } : {}) });
const supervisor = (name: string, language?: 'en' | 'es') =>
  person('/v1/responders', { name, role: 'supervisor', zoneIds: [zone.id], ...(language ? { language } : {}) });
const storedLanguage = async (id: string) => (await t.sql`SELECT language FROM users WHERE id = ${id}`)[0].language;

beforeAll(async () => {
  t = await testApp({ twilio: TWILIO });
  w = world(t);
  // Check-ins are checked where asked for; a missed one never re-escalates within a test.
  zone = await w.zone('Centro', square(36.37, -94.2), { checkInGraceSeconds: 86_400 });
});

describe('POST /v1/drivers and /v1/responders take a language', () => {
  it('stores and returns "es"; without one, "en"', async () => {
    const lucia = await driver('Lucía', 'es');
    expect(lucia).toMatchObject({ name: 'Lucía', language: 'es' });
    expect(await storedLanguage(lucia.id)).toBe('es');
    const dana = await driver('Dana');
    expect(dana.language).toBe('en');
    expect(await storedLanguage(dana.id)).toBe('en');
    const rosa = await supervisor('Rosa', 'es');
    expect(rosa).toMatchObject({ role: 'supervisor', zoneIds: [zone.id], language: 'es' });
    expect(await storedLanguage(rosa.id)).toBe('es');
    expect((await supervisor('Ava')).language).toBe('en');
    const lead = await person('/v1/responders', { name: 'Sam', role: 'safety_lead', language: 'en' });
    expect(lead.language).toBe('en');
    for (const p of [lucia, dana, rosa]) twilio.ignore(p.phone);
  });

  it.each([['fr'], ['ES'], ['spanish'], [''], [null], [1]])('refuses language %j with 422 and stores nothing', async (language) => {
    const phone = nextPhone();
    expectError(await t.post('/v1/drivers', { name: 'X', phone, cancelPin: '2468', duressPin: '1357', language }, ADMIN_TOKEN), 422, 'validation_failed');
    expectError(await t.post('/v1/responders', { name: 'X', phone, role: 'supervisor', zoneIds: [], language }, ADMIN_TOKEN), 422, 'validation_failed');
    expect(await t.sql`SELECT 1 FROM users WHERE phone = ${phone}`).toHaveLength(0);
  });

  it('is in the OpenAPI document, as an enum of en and es', async () => {
    const doc = (await t.get('/openapi.json')).body;
    for (const schema of ['CreateDriver', 'CreateResponder', 'CreatedDriver', 'CreatedResponder']) {
      expect(doc.components.schemas[schema].properties.language, schema).toMatchObject({ type: 'string', enum: ['en', 'es'] });
    }
    expect(doc.components.schemas.CreatedDriver.required).toContain('language');
    expect(doc.components.schemas.CreateDriver.required ?? []).not.toContain('language');
  });
});

/** A zone of its own with `oncall` on call, and a driver; the driver's phone is not expected text by text unless `watchDriver`. */
async function paged(oncallLanguage: 'en' | 'es', driverLanguage: 'en' | 'es' = 'en') {
  const z = await w.zone(`Zona ${++sid}`, square(10 + sid, 10 + sid), { checkInGraceSeconds: 86_400 });
  const oncall = await person('/v1/responders', { name: oncallLanguage === 'es' ? 'Rosa Gómez' : 'Ava Ortiz', role: 'supervisor', zoneIds: [z.id], language: oncallLanguage });
  await w.rotation(z.id, [oncall.id]);
  const d = await driver(driverLanguage === 'es' ? 'Lucía' : 'Dana', driverLanguage);
  const res = await w.sos(d, { location: { lat: 10 + sid, lng: 10 + sid, accuracyM: 9 } });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  await t.engine.tick();
  return { oncall, driver: d, incident: res.body.incident as { id: string; code: number; openedAt: string } };
}

describe('a Spanish-speaking responder is paged in Spanish', () => {
  it('the page SMS is Spanish with "Responda ACK <code>"; every <Say> of the call is es-MX; 1 acknowledges and is answered in Spanish', async () => {
    const { oncall, driver: d, incident } = await paged('es', 'es');
    twilio.ignore(d.phone);
    const sms = twilio.expectSms(oncall.phone);
    expect(sms.body).toMatch(new RegExp(`^MAYDAY #${incident.code}: ROBO - Lucia necesita ayuda en Zona \\d+\\. GPS .* Responda ACK ${incident.code} para hacerse cargo\\.$`));
    expect(segmentsOf(sms.body).segments).toBeLessThanOrEqual(2);
    const call: Sent = twilio.expectCall(oncall.phone);
    expect(call.body).toMatch(/<Gather[^>]*numDigits="1"/);
    expect(call.body).toContain('<Say loop="3" language="es-MX" voice="Polly.Mia">Emergencia de Mayday. Lucía reporta un robo');
    expect(call.body).toContain('Presione 1 para confirmar');
    expect(call.body).toContain('<Say language="es-MX" voice="Polly.Mia">No se presionó ninguna tecla.');
    expect([...call.body.matchAll(/<Say[^>]*>/g)].every(([tag]) => tag.includes('language="es-MX"'))).toBe(true);
    const pressed = await press(t, call, '1');
    expect(pressed.text).toContain('<Say language="es-MX" voice="Polly.Mia">Confirmado. El incidente queda a su cargo.');
    // And by text: already taken, in Spanish.
    expect(message((await text(oncall.phone, `ack ${incident.code}`)).text)).toBe(`Mayday: #${incident.code} ya fue confirmado por Rosa Gómez.`);
  });

  it('an English-speaking responder stays English: "Reply ACK <code>", every <Say> en-US', async () => {
    const { oncall, driver: d, incident } = await paged('en', 'es');
    twilio.ignore(d.phone);
    const sms = twilio.expectSms(oncall.phone);
    expect(sms.body).toMatch(new RegExp(`^MAYDAY #${incident.code}: ROBBERY - driver Lucia needs help in Zona \\d+\\. .* Reply ACK ${incident.code} to take it\\.$`));
    const call = twilio.expectCall(oncall.phone);
    expect(call.body).toContain('<Say loop="3" language="en-US">Mayday emergency. Robbery reported by driver Lucía');
    expect([...call.body.matchAll(/<Say[^>]*>/g)].every(([tag]) => tag.includes('language="en-US"') && !tag.includes('voice='))).toBe(true);
    expect(message((await text(oncall.phone, `ACK ${incident.code}`)).text)).toBe(`Mayday: #${incident.code} acknowledged. It is yours - further pages stopped.`);
    expect((await press(t, call, '1')).text).toContain('<Say language="en-US">This incident was already acknowledged or closed.');
  });

  it('a Spanish responder’s ACK and help texts are Spanish; "ACK <code>" and "1" work as in English', async () => {
    const { oncall, driver: d, incident } = await paged('es');
    twilio.ignore(d.phone);
    twilio.expectSms(oncall.phone);
    twilio.expectCall(oncall.phone);
    expect(message((await text(oncall.phone, 'hola')).text)).toBe(
      'Mayday: responda ACK <número> (por ejemplo ACK 1042) para confirmar un incidente que se le envió, o solo ACK para el más reciente.',
    );
    expect(message((await text(oncall.phone, 'ACK 999999')).text)).toBe('Mayday: el incidente #999999 no se le envió a usted; no se confirmó nada.');
    expect(message((await text(oncall.phone, '1')).text)).toBe(`Mayday: #${incident.code} confirmado. Queda a su cargo; ya no se enviarán más avisos.`);
    expect((await t.post(`/v1/incidents/${incident.id}/resolve`, { disposition: 'resolved_safe' }, oncall.token)).status).toBe(200);
    expect(message((await text(oncall.phone, `ACK ${incident.code}`)).text)).toBe(`Mayday: #${incident.code} ya fue confirmado por Rosa Gómez.`);
  });
});

describe('a Spanish-speaking driver is asked and answered in Spanish', () => {
  it('texts "sos", " Ayuda " and "bien": each does what SOS, HELP and SAFE do, and every reply is Spanish', async () => {
    const z = await w.zone('Zona chofer', square(-20, -20), { checkInGraceSeconds: 86_400 });
    const oncall = await person('/v1/responders', { name: 'Ava', role: 'supervisor', zoneIds: [z.id] });
    await w.rotation(z.id, [oncall.id]);
    const lucia = await driver('Lucía', 'es');
    // Where she last was: inside the zone (the SOS by text opens at the last known fix).
    const first = await w.sos(lucia, { location: { lat: -20, lng: -20, accuracyM: 5 } });
    expect((await t.post(`/v1/incidents/${first.body.incident.id}/resolve`, { disposition: 'resolved_safe' }, oncall.token)).status).toBe(200);
    await t.engine.tick();
    twilio.forget();

    const opened = message((await text(lucia.phone, 'sos')).text)!;
    const [inc] = await t.sql`SELECT id, code, source FROM incidents WHERE driver_id = ${lucia.id} AND status = 'open'`;
    expect(inc.source).toBe('sms');
    expect(opened).toBe(`Mayday #${inc.code}: estamos buscando ayuda y ya avisamos a su equipo de seguridad. Escriba BIEN cuando esté a salvo.`);
    await t.engine.tick();
    twilio.expectSms(oncall.phone, new RegExp(`Reply ACK ${inc.code}`)); // the responder's own language
    twilio.expectCall(oncall.phone);

    // The check-in asks her in Spanish.
    await t.engine.tick(new Date(Date.now() + 31_000));
    const ask = twilio.expectSms(lucia.phone);
    expect(ask.body).toBe(`Mayday #${inc.code}: ¿se encuentra bien? Responda BIEN o AYUDA.`);
    expect(segmentsOf(ask.body).encoding).toBe('GSM-7');

    expect(message((await text(lucia.phone, ' Ayuda ')).text)).toBe(
      `Mayday #${inc.code}: la ayuda va en camino; estamos avisando otra vez a su equipo de seguridad.`,
    );
    await t.engine.tick();
    twilio.expectSms(oncall.phone, /driver asks for HELP/);
    twilio.expectCall(oncall.phone);
    expect(message((await text(lucia.phone, 'bien')).text)).toBe(`Mayday #${inc.code}: anotado, usted se encuentra bien. Si eso cambia, escriba AYUDA.`);
    const checkIns = await t.sql`SELECT data->>'status' AS status, data->>'via' AS via FROM incident_events WHERE incident_id = ${inc.id} AND type = 'checkin.received' ORDER BY seq`;
    expect(checkIns.map((c) => [c.status, c.via])).toEqual([['need_help', 'sms'], ['safe', 'sms']]);
    expect(message((await text(lucia.phone, '¿qué pasa?')).text)).toBe(
      'Mayday: escriba SOS si está en peligro. Responda BIEN o AYUDA cuando Mayday le pregunte cómo está.',
    );
    expect((await t.post(`/v1/incidents/${inc.id}/resolve`, { disposition: 'resolved_safe' }, oncall.token)).status).toBe(200);
    expect(message((await text(lucia.phone, 'BIEN')).text)).toBe('Mayday: no tiene ningún incidente abierto. Escriba SOS si está en peligro.');
  });

  it('an English-speaking driver’s AYUDA is HELP too, answered in English', async () => {
    const { oncall, driver: dana, incident } = await paged('en', 'en');
    twilio.expectSms(oncall.phone);
    twilio.expectCall(oncall.phone);
    expect(message((await text(dana.phone, 'AYUDA')).text)).toBe(`Mayday #${incident.code}: help is on the way - we are paging your safety team again now.`);
    await t.engine.tick();
    twilio.expectSms(oncall.phone, /driver asks for HELP/);
    twilio.expectCall(oncall.phone);
    expect(message((await text(dana.phone, 'Bien')).text)).toBe(`Mayday #${incident.code}: noted, you are safe. Text HELP if that changes.`);
    const [ev] = await t.sql`SELECT count(*)::int AS n FROM incident_events WHERE incident_id = ${incident.id} AND type = 'checkin.received'`;
    expect(ev.n).toBe(2);
  });
});
