import { describe, expect, it } from 'vitest';
import { createLogger, lazyChild } from '../src/log';
import { ADMIN_TOKEN, LogCapture, testApp } from './helpers/app';
import { world } from './helpers/world';

/** Log `obj` once and answer the line as written, without its timestamp (whose digits could match a PIN). */
function logged(obj: Record<string, unknown>, msg = 'something happened'): { line: string; parsed: any } {
  const out = new LogCapture();
  const log = createLogger({ level: 'trace', destination: out });
  log.info(obj, msg);
  expect(out.lines).toHaveLength(1);
  const parsed = JSON.parse(out.lines[0]);
  delete parsed.time;
  return { line: JSON.stringify(parsed), parsed };
}

const PHONE = '+15550100123';
const MASKED = '+1…23';

describe('createLogger keeps secrets out of log lines', () => {
  it.each([
    ['token', 'mdy_drv_s3cr3t-token-value'],
    ['authToken', 'twilio-auth-secret-value'],
    ['adminToken', 'admin-secret-value-123'],
    ['pin', '80417263'],
    ['cancelPin', '70516352'],
    ['duressPin', '60615441'],
    ['authorization', 'Bearer mdy_sup_header-secret'],
  ])('removes %s at the top level, one level down and two levels down', (key, secret) => {
    for (const obj of [{ [key]: secret }, { req: { [key]: secret } }, { req: { headers: { [key]: secret } } }]) {
      const { line } = logged({ ...obj, incidentId: 'inc-1' });
      expect(line, JSON.stringify(obj)).not.toContain(secret);
      expect(line).toContain('inc-1');
    }
  });

  it('removes the Authorization header of a logged request', () => {
    const { line, parsed } = logged({ req: { method: 'POST', headers: { Authorization: 'Bearer mdy_drv_abcdef', 'user-agent': 'app/1' } } });
    expect(line).not.toContain('mdy_drv_abcdef');
    expect(parsed.req.method).toBe('POST');
    expect(parsed.req.headers['user-agent']).toBe('app/1');
  });

  it.each(['phone', 'to', 'from'])('masks a phone number under %s, at every level, keeping +1…23', (key) => {
    for (const [obj, get] of [
      [{ [key]: PHONE }, (p: any) => p[key]],
      [{ page: { [key]: PHONE } }, (p: any) => p.page[key]],
      [{ page: { user: { [key]: PHONE } } }, (p: any) => p.page.user[key]],
    ] as const) {
      const { line, parsed } = logged(obj);
      expect(line, JSON.stringify(obj)).not.toContain(PHONE);
      expect(line).not.toContain('5550100');
      expect(get(parsed)).toBe(MASKED);
    }
  });

  it('masks the phones of a Twilio webhook (From, To)', () => {
    const { line, parsed } = logged({ webhook: { From: PHONE, To: '+15550100999' } });
    expect(line).not.toContain(PHONE);
    expect(line).not.toContain('+15550100999');
    expect(parsed.webhook).toEqual({ From: MASKED, To: '+1…99' });
  });

  it('keeps everything that is not a secret', () => {
    const { parsed } = logged({ incidentId: 'abc', code: 1042, kind: 'robbery', nested: { status: 'open' } }, 'sos opened');
    expect(parsed).toMatchObject({ incidentId: 'abc', code: 1042, kind: 'robbery', nested: { status: 'open' }, msg: 'sos opened' });
  });
});

describe('the running app logs no secrets', () => {
  it('creating a driver, pressing SOS and reading it back leaves no token, full phone or PIN in the logs', async () => {
    const t = await testApp({ logLevel: 'trace' });
    const w = world(t);
    await w.zone();
    const pins = { cancelPin: '50718263', duressPin: '61829374' };
    const driver = await w.driver('Dana', pins);
    const sos = await w.sos(driver, { kind: 'assault', note: 'followed from the restaurant' });
    expect(sos.status).toBe(201);
    const id = sos.body.incident.id;
    expect((await t.post(`/v1/incidents/${id}/locations`, { lat: 36.371, lng: -94.201 }, driver.token)).status).toBe(202);
    expect((await t.get(`/v1/incidents/${id}`, driver.token)).status).toBe(200);
    expect((await t.get(`/v1/incidents/${id}`, ADMIN_TOKEN)).status).toBe(200);
    expect((await t.get(`/v1/zones/${id}/oncall`, driver.token)).status).toBe(403);
    expect((await t.get('/v1/incidents', `${driver.token}x`)).status).toBe(401);

    // The logs were written (trace level), so their silence about secrets means something.
    const lines = t.logs.lines.map((l) => {
      const p = JSON.parse(l);
      delete p.time;
      return JSON.stringify(p);
    });
    expect(lines.some((l) => l.includes('/v1/sos'))).toBe(true);
    expect(lines.some((l) => l.includes('/v1/drivers'))).toBe(true);

    for (const secret of [driver.token, ADMIN_TOKEN, driver.phone, pins.cancelPin, pins.duressPin]) {
      const leaks = lines.filter((l) => l.includes(secret));
      expect(leaks, `leaked ${secret}`).toEqual([]);
    }
  });
});

describe('lazyChild', () => {
  it('logs like parent.child(bindings), redacted, and makes no pino child while nothing is logged', () => {
    const out = new LogCapture();
    const root = createLogger({ level: 'info', destination: out });
    let made = 0;
    const parent = new Proxy(root, { get: (t, k) => (k === 'child' ? (...a: Parameters<typeof root.child>) => (made++, t.child(...a)) : Reflect.get(t, k)) });
    const log = lazyChild(parent, { requestId: 'r-1', to: PHONE });
    log.debug({ x: 1 }, 'below the level');
    const nested = log.child({ role: 'driver' });
    nested.trace('below the level too');
    expect(made).toBe(0);
    expect(log.isLevelEnabled('debug')).toBe(false);
    expect(out.lines).toEqual([]);

    nested.warn({ token: 'mdy_drv_secret' }, 'logged');
    log.info('also logged');
    expect(made).toBe(1); // the parent's child once; the nested one is pino's own child of it
    const [a, b] = out.lines.map((l) => JSON.parse(l));
    expect(a).toMatchObject({ requestId: 'r-1', to: MASKED, role: 'driver', token: '[redacted]', msg: 'logged' });
    expect(b).toMatchObject({ requestId: 'r-1', msg: 'also logged' });
    expect(b.role).toBeUndefined();
  });
});
