import { http, HttpResponse } from 'msw';
import { setupServer } from 'msw/node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { classifyTwilioError, sdkTwiml, twilioTelephony } from '../src/adapters/twilio/sdk';

const seen: { url: string; auth: string | null; form: Record<string, string> }[] = [];
const server = setupServer(
  http.post('https://twilio-staging.test:8443/2010-04-01/Accounts/:sid/Messages.json', async ({ request }) => {
    seen.push({ url: request.url, auth: request.headers.get('authorization'), form: Object.fromEntries(new URLSearchParams(await request.text())) });
    return HttpResponse.json({ sid: 'SM' + '1'.repeat(32), status: 'queued' }, { status: 201 });
  }),
  http.post('https://api.twilio.com/*', () => HttpResponse.json({ message: 'should not be called' }, { status: 500 })),
);
beforeAll(() => server.listen({ onUnhandledRequest: 'error' }));
afterAll(() => server.close());

const cfg = { accountSid: 'AC' + 'a'.repeat(32), authToken: 'secret-token', fromNumber: '+15550001111', apiBaseUrl: 'https://twilio-staging.test:8443' };

describe('the Twilio adapter (twilio SDK)', () => {
  it('TWILIO_API_BASE_URL points the SDK at another endpoint, with the account’s Basic auth', async () => {
    const r = await twilioTelephony(cfg).sendSms({ to: '+15550002222', body: 'Reply ACK 1000', statusCallback: 'https://mayday.test/webhooks/twilio/status?page=x' });
    expect(r).toEqual({ ok: true, sid: 'SM' + '1'.repeat(32) });
    expect(seen[0].url).toBe(`https://twilio-staging.test:8443/2010-04-01/Accounts/${cfg.accountSid}/Messages.json`);
    expect(seen[0].auth).toBe(`Basic ${Buffer.from(`${cfg.accountSid}:${cfg.authToken}`).toString('base64')}`);
    expect(seen[0].form).toMatchObject({ To: '+15550002222', From: cfg.fromNumber, Body: 'Reply ACK 1000', StatusCallback: 'https://mayday.test/webhooks/twilio/status?page=x' });
  });

  it.each([
    [{ status: 429, code: 20429 }, 'retry'],
    [{ status: 500 }, 'retry'],
    [{ status: 503 }, 'retry'],
    [{ status: 400, code: 21211 }, 'permanent'],
    [{ status: 400, code: 21610 }, 'permanent'],
    [{ status: 404, code: 20404 }, 'permanent'],
    [Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }), 'retry'],
    [Object.assign(new Error('timeout of 10000ms exceeded'), { code: 'ECONNABORTED' }), 'unknown'],
    [Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }), 'unknown'],
    [new Error('something else'), 'unknown'],
  ])('classifies %o as %s', (err, kind) => {
    expect(classifyTwilioError(err).kind).toBe(kind);
  });

  it('builds TwiML with the library: a page call gathers one digit at the action URL; replies are <Message>', () => {
    const call = sdkTwiml.pageCall({ script: 'Press 1 & take it', gatherAction: 'https://mayday.test/webhooks/twilio/voice/gather?page=a&b=c' });
    expect(call).toContain('<Gather numDigits="1" action="https://mayday.test/webhooks/twilio/voice/gather?page=a&amp;b=c" method="POST" timeout="8"');
    expect(call).toContain('Press 1 &amp; take it');
    expect(sdkTwiml.message('Mayday: #1 acknowledged')).toBe('<?xml version="1.0" encoding="UTF-8"?><Response><Message>Mayday: #1 acknowledged</Message></Response>');
    expect(sdkTwiml.message()).toBe('<?xml version="1.0" encoding="UTF-8"?><Response/>');
  });
});
