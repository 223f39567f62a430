/**
 * The Worker's configuration and logging, checked on Node: src/entry/worker-config.ts and
 * src/log-worker.ts import nothing Workers-only. test/worker.e2e.test.ts runs the Worker itself.
 */
import { describe, expect, it } from 'vitest';
import { SCHEMA_VERSION } from '../src/db/schema-version';
import { loadMigrations } from '../src/db/migrations-fs';
import { misconfigured, setupFrom, type Env } from '../src/entry/worker-config';
import { createWorkerLogger, redactForLog } from '../src/log-worker';

const good = (): Env => ({
  HYPERDRIVE: { connectionString: 'postgres://u:p@hyperdrive.local:5432/mayday' },
  INCIDENT_TIMER: {} as Env['INCIDENT_TIMER'],
  PUBLIC_BASE_URL: 'https://mayday.example.workers.dev/',
  TWILIO_ACCOUNT_SID: 'AC' + 'b'.repeat(32),
  TWILIO_AUTH_TOKEN: 'twilio-secret-token',
  TWILIO_FROM_NUMBER: '+15550001111',
  LOG_LEVEL: 'warn',
});

function answer(env: Env) {
  const lines: string[] = [];
  try {
    setupFrom(env, { write: (l) => lines.push(l) });
    throw new Error('expected the setup to fail');
  } catch (e) {
    return { res: misconfigured(e, new Request('https://mayday.test/v1/sos', { headers: { 'x-request-id': 'req-1' } }), (l) => lines.push(l)), lines };
  }
}

describe('a Worker’s configuration, from its bindings', () => {
  it('is parsed with the same schema as on Node: the database from Hyperdrive, Twilio from variables and secrets', () => {
    const s = setupFrom(good());
    expect(s.url).toBe('postgres://u:p@hyperdrive.local:5432/mayday');
    expect(s.config.publicBaseUrl).toBe('https://mayday.example.workers.dev');
    expect(s.config.twilio).toMatchObject({ accountSid: 'AC' + 'b'.repeat(32), fromNumber: '+15550001111', apiBaseUrl: 'https://api.twilio.com' });
    expect(s.config.logLevel).toBe('warn');
  });

  it.each([
    ['HYPERDRIVE', (e: Env) => delete e.HYPERDRIVE],
    ['INCIDENT_TIMER', (e: Env) => delete e.INCIDENT_TIMER],
    ['PUBLIC_BASE_URL', (e: Env) => delete e.PUBLIC_BASE_URL],
  ])('a missing %s answers 500 with the one error body, naming it, and logs it', async (name, drop) => {
    const env = good();
    drop(env);
    const { res, lines } = answer(env);
    expect(res.status).toBe(500);
    const body = (await res.json()) as { error: { code: string; message: string; requestId: string } };
    expect(body).toEqual({ error: { code: 'internal', message: expect.stringContaining(name), requestId: 'req-1' } });
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0])).toMatchObject({ level: 'error', requestId: 'req-1', msg: expect.stringContaining(name) });
  });

  it('a bad value answers 500 naming the variable, as a bad value stops the Node process', async () => {
    const { res } = answer({ ...good(), LOG_LEVEL: 'loud', TWILIO_FROM_NUMBER: '5550001111' });
    const body = (await res.json()) as { error: { message: string } };
    expect(body.error.message).toMatch(/LOG_LEVEL/);
    expect(body.error.message).toMatch(/TWILIO_FROM_NUMBER/);
    expect(body.error.message).not.toContain('twilio-secret-token');
  });

  it('the schema version a Worker expects is the newest migration under sql/', () => {
    expect(SCHEMA_VERSION).toBe(Math.max(...loadMigrations().map((m) => m.id)));
  });
});

describe('logging on Workers (pino’s browser build, one JSON line per entry)', () => {
  it('redacts the same keys as on Node, at any depth, and masks phone numbers', () => {
    const lines: string[] = [];
    const log = createWorkerLogger({ level: 'info', write: (l) => lines.push(l) });
    const child = log.child({ requestId: 'r1', to: '+15550001234' });
    child.info({ token: 'tok_secret', authorization: 'Bearer x', deep: { a: { b: { pin: '9999', From: '+15550009876' } } }, Body: 'ACK 1000' }, 'hello %s', 'there');
    child.debug({ token: 'never' }, 'below the level');
    child.warn({ err: Object.assign(new Error('boom'), { code: 'E1' }) }, 'failed');
    expect(lines).toHaveLength(2);
    const first = JSON.parse(lines[0]);
    expect(first).toMatchObject({ level: 'info', requestId: 'r1', to: '+1…34', token: '[redacted]', authorization: '[redacted]', Body: '[redacted]', msg: 'hello there' });
    expect(first.deep.a.b).toEqual({ pin: '[redacted]', From: '+1…76' });
    expect(lines.join('\n')).not.toMatch(/tok_secret|Bearer x|9999|5550001234|5550009876|ACK 1000/);
    expect(JSON.parse(lines[1])).toMatchObject({ level: 'warn', err: { type: 'Error', message: 'boom', code: 'E1' }, msg: 'failed' });
  });

  it('redactForLog leaves other values alone', () => {
    expect(redactForLog({ a: 1, b: [{ c: 'x', phone: '+447700900123' }], n: null })).toEqual({ a: 1, b: [{ c: 'x', phone: '+4…23' }], n: null });
  });
});
