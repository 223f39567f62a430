import { http, HttpResponse, delay } from 'msw';
import { createServer as httpServer } from 'node:http';
import { createServer, type AddressInfo } from 'node:net';
import { setupServer } from 'msw/node';
import twilio from 'twilio';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { nodeHttpTransport } from '../src/adapters/twilio/node-transport';
import { classifyTwilioAnswer, fetchTransport, twiml, twilioTelephony, type TwilioTransport } from '../src/adapters/twilio/twilio';

type Seen = { url: string; auth: string | null; form: [string, string][] };
const seen: Seen[] = [];
let answer: () => Response | Promise<Response> = () => HttpResponse.json({ sid: 'SM' + '1'.repeat(32), status: 'queued' }, { status: 201 });
const record = async ({ request }: { request: Request }) => {
  seen.push({ url: request.url, auth: request.headers.get('authorization'), form: [...new URLSearchParams(await request.text())] });
  return answer();
};
const server = setupServer(
  http.post('https://twilio-staging.test:8443/2010-04-01/Accounts/:sid/:resource', record),
  http.post('https://api.twilio.com/*', () => HttpResponse.json({ message: 'should not be called' }, { status: 500 })),
);
beforeAll(() => server.listen({ onUnhandledRequest: 'error' }));
afterEach(() => {
  seen.length = 0;
  answer = () => HttpResponse.json({ sid: 'SM' + '1'.repeat(32), status: 'queued' }, { status: 201 });
});
afterAll(() => server.close());

const base = { accountSid: 'AC' + 'a'.repeat(32), authToken: 'secret-token', fromNumber: '+15550001111', apiBaseUrl: 'https://twilio-staging.test:8443' };
const call = {
  pageId: 'p1',
  to: '+15550002222',
  twiml: twiml.pageCall({ script: 'Mayday', noKey: 'No key', language: 'en-US', gatherAction: 'https://mayday.test/webhooks/twilio/voice/gather?page=p1' }),
  script: 'Mayday',
  statusCallback: 'https://mayday.test/webhooks/twilio/voice/status?page=p1',
  amdCallback: 'https://mayday.test/webhooks/twilio/voice/amd?page=p1',
};
const sorted = (f: [string, string][]) => [...f].sort(([a, x], [b, y]) => a.localeCompare(b) || x.localeCompare(y));

const nodeHttp = nodeHttpTransport();
afterAll(() => nodeHttp.close());

// Both transports give the same answers: fetch (Workers) and node:http (Node).
describe.each<[string, TwilioTransport]>([['fetch', fetchTransport], ['node:http', nodeHttp]])('the Twilio adapter over %s', (_name, transport) => {
  const cfg = { ...base, transport };

  it('TWILIO_API_BASE_URL points it at another endpoint, with the account’s Basic auth', async () => {
    const r = await twilioTelephony(cfg).sendSms({ to: '+15550002222', body: 'Reply ACK 1000', statusCallback: 'https://mayday.test/webhooks/twilio/status?page=x' });
    expect(r).toEqual({ ok: true, sid: 'SM' + '1'.repeat(32) });
    expect(seen[0].url).toBe(`https://twilio-staging.test:8443/2010-04-01/Accounts/${cfg.accountSid}/Messages.json`);
    expect(seen[0].auth).toBe(`Basic ${Buffer.from(`${cfg.accountSid}:${cfg.authToken}`).toString('base64')}`);
    expect(Object.fromEntries(seen[0].form)).toEqual({ To: '+15550002222', From: cfg.fromNumber, Body: 'Reply ACK 1000', StatusCallback: 'https://mayday.test/webhooks/twilio/status?page=x' });
  });

  it('sends exactly the form the twilio SDK sends, for a message and for a call with answering-machine detection', async () => {
    const ours = twilioTelephony(cfg);
    await ours.sendSms({ to: '+15550002222', body: 'Mayday #12: reply ACK', statusCallback: 'https://mayday.test/webhooks/twilio/status?page=p1' });
    await ours.placeCall(call);
    const sdk = twilio(cfg.accountSid, cfg.authToken);
    const host = (opts: { uri: string }) => (opts.uri = opts.uri.replace('https://api.twilio.com', cfg.apiBaseUrl));
    const request = sdk.httpClient!.request.bind(sdk.httpClient);
    sdk.httpClient!.request = ((opts: { uri: string }) => (host(opts), request(opts as never))) as never;
    await sdk.messages.create({ to: '+15550002222', from: cfg.fromNumber, body: 'Mayday #12: reply ACK', statusCallback: 'https://mayday.test/webhooks/twilio/status?page=p1' });
    await sdk.calls.create({
      to: call.to, from: cfg.fromNumber, twiml: call.twiml, statusCallback: call.statusCallback,
      statusCallbackEvent: ['answered', 'completed'], machineDetection: 'Enable', asyncAmd: 'true',
      asyncAmdStatusCallback: call.amdCallback, timeout: 30,
    });
    expect(seen).toHaveLength(4);
    expect(seen[2].url).toBe(seen[0].url);
    expect(seen[3].url).toBe(`https://twilio-staging.test:8443/2010-04-01/Accounts/${cfg.accountSid}/Calls.json`);
    expect(seen[1].url).toBe(seen[3].url);
    expect(sorted(seen[0].form)).toEqual(sorted(seen[2].form));
    expect(sorted(seen[1].form)).toEqual(sorted(seen[3].form));
    expect(seen[1].form.filter(([k]) => k === 'StatusCallbackEvent').map(([, v]) => v)).toEqual(['answered', 'completed']);
    expect(seen[1].auth).toBe(seen[3].auth);
  });

  it.each([
    [429, { code: 20429, message: 'Too Many Requests' }, 'retry'],
    [503, null, 'retry'],
    [500, { code: 20500, message: 'Internal Server Error' }, 'unknown'],
    [502, null, 'unknown'],
    [504, { message: 'Gateway Timeout' }, 'unknown'],
    [400, { code: 21211, message: "The 'To' number is not a valid phone number." }, 'permanent'],
    [400, { code: 21610, message: 'Attempt to send to unsubscribed recipient' }, 'permanent'],
    [404, { code: 20404 }, 'permanent'],
  ])('an answer %i %o is %s, with Twilio’s code', async (status, body: { code?: number; message?: string } | null, kind) => {
    answer = () => (body ? HttpResponse.json(body, { status }) : new HttpResponse('Service Unavailable', { status }));
    const r = await twilioTelephony(cfg).sendSms({ to: '+15550002222', body: 'x' });
    expect(r).toMatchObject({ ok: false, kind, status, ...(body?.code ? { code: String(body.code) } : {}) });
    expect(classifyTwilioAnswer(status, body).kind).toBe(kind);
  });

  it('a refused connection is safe to retry: nothing reached Twilio', async () => {
    const port = await new Promise<number>((resolve) => {
      const s = createServer().listen(0, '127.0.0.1', () => {
        const { port } = s.address() as AddressInfo;
        s.close(() => resolve(port));
      });
    });
    const closed = twilioTelephony({ ...cfg, apiBaseUrl: `http://127.0.0.1:${port}` });
    server.close(); // let the request reach the real network stack: nothing listens on that port
    try {
      expect(await closed.sendSms({ to: '+15550002222', body: 'x' })).toMatchObject({ ok: false, kind: 'retry', code: 'ECONNREFUSED' });
    } finally {
      server.listen({ onUnhandledRequest: 'error' });
    }
  });

  it('a timeout or a dropped connection is unknown, never retried as the same attempt', async () => {
    answer = async () => (await delay(400), HttpResponse.json({ sid: 'SMlate' }, { status: 201 }));
    expect(await twilioTelephony({ ...cfg, timeoutMs: 100 }).placeCall(call)).toMatchObject({ ok: false, kind: 'unknown', code: 'timeout' });
    answer = () => HttpResponse.error();
    expect(await twilioTelephony(cfg).placeCall(call)).toMatchObject({ ok: false, kind: 'unknown' });
  });

  it('a 2xx without a readable sid is unknown: Twilio took something we cannot name', async () => {
    answer = () => new HttpResponse('<html>proxy</html>', { status: 200 });
    expect(await twilioTelephony(cfg).sendSms({ to: '+15550002222', body: 'x' })).toMatchObject({ ok: false, kind: 'unknown' });
    answer = () => HttpResponse.json({ status: 'queued' }, { status: 201 });
    expect(await twilioTelephony(cfg).sendSms({ to: '+15550002222', body: 'x' })).toMatchObject({ ok: false, kind: 'unknown' });
  });

  it('checks webhook signatures with the library, against either auth token (rotation)', () => {
    const url = 'https://mayday.test/webhooks/twilio/sms';
    const params = { From: '+15550002222', Body: 'ACK' };
    const t = twilioTelephony({ ...cfg, secondaryAuthToken: 'next-token' });
    expect(t.validateSignature(url, params, twilio.getExpectedTwilioSignature(cfg.authToken, url, params))).toBe(true);
    expect(t.validateSignature(url, params, twilio.getExpectedTwilioSignature('next-token', url, params))).toBe(true);
    expect(t.validateSignature(url, params, twilio.getExpectedTwilioSignature('other', url, params))).toBe(false);
    expect(t.validateSignature(url, { ...params, Body: 'NO' }, twilio.getExpectedTwilioSignature(cfg.authToken, url, params))).toBe(false);
    expect(t.validateSignature(url, params, undefined)).toBe(false);
  });

  it('builds TwiML with the library: a page call gathers one digit at the action URL, every <Say> in its language; replies are <Message>', () => {
    const c = twiml.pageCall({
      script: 'Press 1 & take it', noKey: 'No key was pressed.', language: 'en-US', gatherAction: 'https://mayday.test/webhooks/twilio/voice/gather?page=a&b=c',
    });
    expect(c).toContain('<Gather numDigits="1" action="https://mayday.test/webhooks/twilio/voice/gather?page=a&amp;b=c" method="POST" timeout="8"');
    expect(c).toContain('<Say loop="3" language="en-US">Press 1 &amp; take it</Say>');
    expect(c).toContain('<Say language="en-US">No key was pressed.</Say>');
    // Spanish is spoken by a voice that speaks Mexican Spanish (the default voice does not).
    const es = twiml.pageCall({ script: 'Presione 1', noKey: 'No se presionó ninguna tecla.', language: 'es-MX', gatherAction: 'https://mayday.test/g' });
    expect(es).toContain('<Say loop="3" language="es-MX" voice="Polly.Mia">Presione 1</Say>');
    expect(es).toContain('<Say language="es-MX" voice="Polly.Mia">No se presionó ninguna tecla.</Say>');
    expect(twiml.say('Adiós.', 'es-MX')).toBe('<?xml version="1.0" encoding="UTF-8"?><Response><Say language="es-MX" voice="Polly.Mia">Adiós.</Say></Response>');
    expect(twiml.message('Mayday: #1 acknowledged')).toBe('<?xml version="1.0" encoding="UTF-8"?><Response><Message>Mayday: #1 acknowledged</Message></Response>');
    expect(twiml.message()).toBe('<?xml version="1.0" encoding="UTF-8"?><Response/>');
  });
});

describe('the node:http transport', () => {
  it('sends again on a fresh socket when a kept-alive one turns out closed (ECONNRESET before any answer)', async () => {
    // A server that answers the first request on each connection and resets the connection on
    // its second, as a server closing an idle socket just as it is reused would.
    let requests = 0;
    let connections = 0;
    const srv = createServer((sock) => {
      connections++;
      let n = 0;
      sock.on('data', () => {
        requests++;
        if (n++ === 0) sock.write('HTTP/1.1 201 Created\r\ncontent-type: application/json\r\ncontent-length: 13\r\nconnection: keep-alive\r\n\r\n{"sid":"SMx"}');
        else sock.resetAndDestroy();
      });
    });
    const port = await new Promise<number>((r) => srv.listen(0, '127.0.0.1', () => r((srv.address() as AddressInfo).port)));
    const t = nodeHttpTransport();
    const tel = twilioTelephony({ ...base, apiBaseUrl: `http://127.0.0.1:${port}`, transport: t });
    server.close();
    try {
      expect(await tel.sendSms({ to: '+15550002222', body: 'x' })).toEqual({ ok: true, sid: 'SMx' });
      expect(await tel.sendSms({ to: '+15550002222', body: 'y' })).toEqual({ ok: true, sid: 'SMx' });
      expect({ requests, connections }).toEqual({ requests: 3, connections: 2 });
    } finally {
      t.close();
      srv.close();
      server.listen({ onUnhandledRequest: 'error' });
    }
  });
  it('holds at most 100 requests open to Twilio; the rest wait for a socket, and their timeout starts only once they have one', async () => {
    let open = 0;
    let peak = 0;
    const srv = httpServer((req, res) => {
      peak = Math.max(peak, ++open);
      req.resume();
      setTimeout(() => {
        open--;
        res.writeHead(201, { 'content-type': 'application/json' }).end('{"sid":"SMq"}');
      }, 200);
    });
    const port = await new Promise<number>((r) => srv.listen(0, '127.0.0.1', () => r((srv.address() as AddressInfo).port)));
    const t = nodeHttpTransport();
    // 150 at once, each answered after 200 ms: the last 50 wait ~200 ms for a socket, then 200 ms
    // for the answer; a 300 ms timeout counted from the start would have failed them.
    const tel = twilioTelephony({ ...base, apiBaseUrl: `http://127.0.0.1:${port}`, transport: t, timeoutMs: 300 });
    server.close();
    try {
      const results = await Promise.all(Array.from({ length: 150 }, () => tel.sendSms({ to: '+15550002222', body: 'x' })));
      expect(results.filter((r) => !r.ok)).toEqual([]);
      expect(peak).toBe(100);
    } finally {
      t.close();
      srv.close();
      server.listen({ onUnhandledRequest: 'error' });
    }
  });
});
