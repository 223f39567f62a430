/**
 * The Twilio stand-in the benchmarks and chaos scripts page (scripts/twilio-standin.ts): a call's
 * status callbacks are the events its StatusCallbackEvent parameters ask for, as with Twilio; its
 * record says when each request was answered or abandoned by the client (the chaos scripts'
 * measure of silence rests on it). No database: the stand-in is only a Twilio double.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { startStandin } from '../scripts/twilio-standin';

const creds = { accountSid: `AC${'7'.repeat(32)}`, authToken: 'standin-test-token' };

describe('twilio stand-in: call status callbacks', () => {
  const received: URLSearchParams[] = [];
  let sink: Server;
  afterAll(() => new Promise<void>((r) => (sink ? sink.close(() => r()) : r())));

  it('sends the call events StatusCallbackEvent asks for (answered as in-progress), and none when none are asked for', async () => {
    sink = createServer((req, res) => {
      let body = '';
      req.on('data', (d) => (body += d)).on('end', () => (received.push(new URLSearchParams(body)), res.writeHead(204).end()));
    });
    await new Promise<void>((r) => sink.listen(0, '127.0.0.1', () => r()));
    const sinkUrl = `http://127.0.0.1:${(sink.address() as AddressInfo).port}`;
    const standin = await startStandin({ ...creds, port: 0, host: '127.0.0.1', callbackDelayMs: 1 });
    try {
      const call = async (call: string, events: string[]) => {
        const form = new URLSearchParams({ To: '+15550001111', From: '+15550002222', Twiml: '<Response/>', StatusCallback: `${sinkUrl}/status?call=${call}` });
        for (const e of events) form.append('StatusCallbackEvent', e);
        const res = await fetch(`${standin.url}/2010-04-01/Accounts/${creds.accountSid}/Calls.json`, {
          method: 'POST', body: form,
          headers: { authorization: 'Basic ' + Buffer.from(`${creds.accountSid}:${creds.authToken}`).toString('base64') },
        });
        expect(res.status).toBe(201);
      };
      await call('mayday', ['answered', 'completed']);
      await call('all', ['initiated', 'ringing', 'answered', 'completed']);
      await call('none', []);
      for (let i = 0; i < 200 && received.length < 4; i++) await new Promise((r) => setTimeout(r, 10));
      await new Promise((r) => setTimeout(r, 50)); // nothing more comes
      const byCall = new Map<string, string[]>();
      for (const f of received) {
        const sid = f.get('CallSid')!;
        byCall.set(sid, [...(byCall.get(sid) ?? []), f.get('CallStatus')!]);
      }
      const calls = standin.requests().map((r) => ({ call: new URL(r.statusCallback!).searchParams.get('call'), sid: r.sid! }));
      const of = (c: string) => byCall.get(calls.find((x) => x.call === c)!.sid) ?? [];
      expect(of('mayday')).toEqual(['in-progress']);
      expect(of('all')).toEqual(['initiated', 'ringing', 'in-progress']);
      expect(of('none')).toEqual([]);
      expect(received.find((f) => f.get('CallStatus') === 'in-progress')!.get('AnsweredBy')).toBe('human');
    } finally {
      await standin.close();
    }
  });
});

describe('twilio stand-in: when a request was answered or abandoned', () => {
  it('stamps answeredAt on an answer (a 201 or a fault) and abortedAt on a hung request its client gave up on', async () => {
    const standin = await startStandin({ ...creds, port: 0, host: '127.0.0.1', callbacks: false, hangMs: 5_000 });
    try {
      const sms = (to: string, signal?: AbortSignal) => fetch(`${standin.url}/2010-04-01/Accounts/${creds.accountSid}/Messages.json`, {
        method: 'POST', signal, body: new URLSearchParams({ To: to, From: '+15550002222', Body: 'hello' }),
        headers: { authorization: 'Basic ' + Buffer.from(`${creds.accountSid}:${creds.authToken}`).toString('base64') },
      });
      expect((await sms('+15550001111')).status).toBe(201);
      standin.refuseNext('+15550003333', '503');
      expect((await sms('+15550003333')).status).toBe(503);
      standin.refuseNext('+15550004444', 'hang');
      await expect(sms('+15550004444', AbortSignal.timeout(300))).rejects.toThrow();
      for (let i = 0; i < 100 && standin.requests()[2]?.abortedAt == null; i++) await new Promise((r) => setTimeout(r, 10));
      const [ok, refused, hung] = standin.requests();
      expect(ok.outcome).toBe('accepted');
      expect(ok.answeredAt).toBeGreaterThanOrEqual(ok.at);
      expect(ok.abortedAt).toBeNull();
      expect(refused.outcome).toBe('503');
      expect(refused.answeredAt).toBeGreaterThanOrEqual(refused.at);
      expect(hung.outcome).toBe('hang');
      expect(hung.answeredAt).toBeNull();
      expect(hung.abortedAt! - hung.at).toBeGreaterThan(200);
      expect(hung.abortedAt! - hung.at).toBeLessThan(3_000);
    } finally {
      await standin.close();
    }
  });
});
