import { beforeAll, describe, expect, it } from 'vitest';
import { buildApp, MAX_BODY_BYTES } from '../src/app';
import { Authenticator } from '../src/auth/authenticator';
import { migrate } from '../src/db/migrate';
import { loadMigrations } from '../src/db/migrations-fs';
import type { Deps } from '../src/deps';
import { createLogger } from '../src/log';
import { ZoneDirectory } from '../src/zones/store';
import { ADMIN_TOKEN, LogCapture, testApp, type TestApp } from './helpers/app';
import { freshDatabase } from './helpers/db';
import { expectError } from './helpers/expect';
import type { Context } from 'hono';
import type { AppEnv } from '../src/http/context';
import { limitBody } from '../src/http/middleware';
import { square } from './helpers/world';

let t: TestApp;
const admin = ADMIN_TOKEN;

beforeAll(async () => {
  t = await testApp();
});

/** A raw request, for bodies and headers the JSON helpers would fix up. */
async function raw(path: string, init: RequestInit & { headers?: Record<string, string> }) {
  const res = await t.app.request(path, init);
  const text = await res.text();
  let body: any = text;
  try {
    body = JSON.parse(text);
  } catch {
    /* not JSON */
  }
  return { status: res.status, body, headers: res.headers, text };
}

describe('errors are always the one JSON body', () => {
  it('answers an unknown route with 404 not_found', async () => {
    expectError(await t.get('/v1/nothing-here', admin), 404, 'not_found');
    expectError(await t.get('/nowhere'), 404, 'not_found');
    expectError(await t.req('DELETE', '/v1/zones'), 404, 'not_found');
  });

  it('answers a body that is not JSON with 400 malformed_json', async () => {
    const res = await t.req('POST', '/v1/zones', { token: admin, body: '{"name": "Z", "boundary": ' });
    expectError(res, 400, 'malformed_json');
  });

  it('answers a body that is not application/json with 415', async () => {
    const body = JSON.stringify({ name: 'Z', boundary: square(1, 1) });
    for (const type of ['text/plain', 'application/x-www-form-urlencoded']) {
      const res = await t.req('POST', '/v1/zones', { token: admin, body, headers: { 'content-type': type } });
      expectError(res, 415, 'unsupported_media_type');
    }
    const [n] = await t.sql`SELECT count(*)::int AS n FROM zones`;
    expect(n.n).toBe(0);
  });

  it('takes application/json with a charset', async () => {
    const res = await t.req('POST', '/v1/zones', {
      token: admin, body: { name: 'Charset', boundary: square(2, 2) }, headers: { 'content-type': 'application/json; charset=utf-8' },
    });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
  });

  it(`answers a body over MAX_BODY_BYTES (${MAX_BODY_BYTES}) with 413, and one just under it is read`, async () => {
    const over = JSON.stringify({ name: 'x'.repeat(MAX_BODY_BYTES), boundary: square(1, 1) });
    expect(Buffer.byteLength(over)).toBeGreaterThan(MAX_BODY_BYTES);
    expectError(await t.req('POST', '/v1/zones', { token: admin, body: over }), 413, 'payload_too_large');

    // Just under the limit it is parsed and validated (the name is too long: 422, not 413).
    const under = JSON.stringify({ name: 'x'.repeat(MAX_BODY_BYTES - 1000), boundary: square(1, 1) });
    expect(Buffer.byteLength(under)).toBeLessThan(MAX_BODY_BYTES);
    expectError(await t.req('POST', '/v1/zones', { token: admin, body: under }), 422, 'validation_failed');
  });

  it('answers 413 to an oversized body sent without a content-length (chunked)', async () => {
    const chunk = new TextEncoder().encode(JSON.stringify({ name: 'x'.repeat(64 * 1024) }));
    let sent = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(ctl) {
        if (sent++ < 6) ctl.enqueue(chunk);
        else ctl.close();
      },
    });
    const res = await raw('/v1/zones', {
      method: 'POST', body: stream, duplex: 'half',
      headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json', 'transfer-encoding': 'chunked' },
    } as RequestInit & { headers: Record<string, string> });
    expectError(res, 413, 'payload_too_large');
  });

  it('judges a body with a Content-Length by that header alone, without opening the request body', async () => {
    // On Node, reading c.req.raw makes a web-streams Request of every request (the CPU that
    // limitBody's fast path saves); here it throws, so any use of it fails the test.
    const limit = limitBody(100, 'test body');
    const ctx = (headers: Record<string, string>) => ({
      req: {
        method: 'POST',
        header: (name: string) => headers[name.toLowerCase()],
        get raw(): never {
          throw new Error('the request body was opened');
        },
      },
    }) as unknown as Context<AppEnv>;
    let passed = 0;
    const next = async () => void passed++;
    await limit(ctx({ 'content-length': '100' }), next);
    expect(passed).toBe(1);
    await expect(limit(ctx({ 'content-length': '101' }), next)).rejects.toMatchObject({ code: 'payload_too_large' });
    await expect(limit(ctx({ 'content-length': 'lots' }), next)).rejects.toMatchObject({ code: 'payload_too_large' });
    expect(passed).toBe(1);
    // Without a length (chunked), the body is counted as it is read: that path opens it.
    await expect(limit(ctx({ 'transfer-encoding': 'chunked' }), next)).rejects.toThrow('the request body was opened');
  });

  it('answers a well-formed but invalid body with 422 validation_failed and details saying where', async () => {
    const res = await t.post('/v1/drivers', { name: 'Dana', phone: '+15550100999', cancelPin: '12', duressPin: '9999' }, admin);
    const e = expectError(res, 422, 'validation_failed');
    expect(Array.isArray(e.details)).toBe(true);
    const details = e.details as { path: string; message: string }[];
    expect(details.length).toBeGreaterThan(0);
    for (const d of details) expect(d).toEqual({ path: expect.any(String), message: expect.any(String) });
    expect(details.map((d) => d.path)).toContain('cancelPin');
  });

  it('answers a token that is not a bearer token with 401', async () => {
    for (const authorization of ['Basic x', 'Basic dXNlcjpwYXNz', 'Bearer', 'Bearer a b', admin]) {
      const res = await t.req('GET', '/v1/incidents', { headers: { authorization } });
      expectError(res, 401, 'unauthorized');
    }
  });

  it('answers an unknown bearer token with 401, and no token with 401', async () => {
    expectError(await t.get('/v1/incidents', 'mdy_drv_unknown'), 401, 'unauthorized');
    expectError(await t.get('/v1/incidents'), 401, 'unauthorized');
  });
});

describe('request ids', () => {
  it('gives every response an X-Request-Id, a fresh one each time', async () => {
    const a = await t.get('/healthz');
    const b = await t.get('/healthz');
    expect(a.headers.get('x-request-id')).toBeTruthy();
    expect(b.headers.get('x-request-id')).toBeTruthy();
    expect(a.headers.get('x-request-id')).not.toBe(b.headers.get('x-request-id'));
  });

  it('echoes a client-supplied X-Request-Id, in the header and in an error body', async () => {
    const ok = await t.req('GET', '/healthz', { headers: { 'x-request-id': 'client-req-0001' } });
    expect(ok.headers.get('x-request-id')).toBe('client-req-0001');
    const bad = await t.req('GET', '/v1/incidents', { headers: { 'x-request-id': 'client-req-0002' } });
    expectError(bad, 401, 'unauthorized');
    expect(bad.body.error.requestId).toBe('client-req-0002');
  });
});

describe('system endpoints', () => {
  it('GET /healthz answers 200', async () => {
    const res = await t.get('/healthz');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ status: 'ok' });
  });

  it('GET /readyz answers 200 on a migrated database', async () => {
    const res = await t.get('/readyz');
    expect(res.status, JSON.stringify(res.body)).toBe(200);
  });

  it('GET /docs answers an HTML page that loads /openapi.json', async () => {
    const res = await raw('/docs', { method: 'GET' });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    expect(res.text).toMatch(/<html/i);
    expect(res.text).toContain('/openapi.json');
  });
});

describe('GET /openapi.json', () => {
  const expected: Record<string, string[]> = {
    '/v1/sos': ['post'],
    '/v1/incidents': ['get'],
    '/v1/incidents/{id}': ['get'],
    '/v1/incidents/{id}/locations': ['post'],
    '/v1/incidents/{id}/timeline': ['get'],
    '/v1/incidents/{id}/timeline/verify': ['get'],
    '/v1/zones': ['post'],
    '/v1/responders': ['post'],
    '/v1/drivers': ['post'],
    '/v1/auditors': ['post'],
    '/v1/agents': ['post'],
    '/v1/zones/{id}/rotation': ['put'],
    '/v1/zones/{id}/overrides': ['post'],
    '/v1/zones/{id}/oncall': ['get'],
    '/v1/zones/{id}/escalation-policy': ['put'],
    '/healthz': ['get'],
    '/readyz': ['get'],
  };
  let doc: any;

  beforeAll(async () => {
    const res = await t.get('/openapi.json');
    expect(res.status).toBe(200);
    doc = res.body;
  });

  it('is OpenAPI 3.1', () => {
    expect(doc.openapi).toMatch(/^3\.1\./);
    expect(doc.info.title).toEqual(expect.any(String));
  });

  it.each(Object.entries(expected))('describes %s with %j', (path, methods) => {
    expect(Object.keys(doc.paths ?? {})).toContain(path);
    for (const m of methods) expect(Object.keys(doc.paths[path]), `${m} ${path}`).toContain(m);
  });

  it('describes the one error body and the bearer scheme', () => {
    expect(doc.components.securitySchemes.bearer).toMatchObject({ type: 'http', scheme: 'bearer' });
    expect(doc.paths['/v1/zones'].post.responses['422']).toBeDefined();
    expect(JSON.stringify(doc.paths['/v1/zones'].post.responses['422'])).toContain('Error');
  });
});

describe('when the database is gone', () => {
  let dead: TestApp;

  beforeAll(async () => {
    dead = await testApp();
    await dead.sql.end({ timeout: 1 });
  });

  it('answers 503 with the one error body and no stack trace', async () => {
    const res = await dead.get('/v1/incidents', admin);
    expect(res.status).toBeGreaterThanOrEqual(500);
    expectError(res, 503, 'unavailable');
    const text = JSON.stringify(res.body);
    expect(text).not.toMatch(/\bat .*[(:]\d+/);
    expect(text).not.toMatch(/\\n\s*at /);
    expect(text).not.toContain('node_modules');
    expect(text).not.toMatch(/\.ts\b/);
  });

  it('/readyz answers 503', async () => {
    const res = await dead.get('/readyz');
    expect(res.status).toBe(503);
    expect(res.body.status).not.toBe('ready');
  });

  it('/healthz still answers 200: the process is alive', async () => {
    expect((await dead.get('/healthz')).status).toBe(200);
  });
});

describe('on a database that is not migrated', () => {
  it('/readyz answers 503 until the migrations are applied, then 200', async () => {
    const { sql } = await freshDatabase({ migrated: false });
    const migrations = loadMigrations();
    // The test app's deps (whatever they grow to), pointed at the unmigrated database.
    const deps: Deps = {
      ...t.deps,
      sql,
      log: createLogger({ level: 'silent', destination: new LogCapture() }),
      auth: new Authenticator(sql, ADMIN_TOKEN),
      zones: new ZoneDirectory(sql, 0),
      schemaVersion: Math.max(...migrations.map((m) => m.id)),
    };
    const app = buildApp(deps);
    const before = await app.request('/readyz');
    expect(before.status).toBe(503);
    await migrate(sql, migrations);
    const after = await app.request('/readyz');
    expect(after.status).toBe(200);
  });
});

describe('client input never causes a 500', () => {
  // PostgreSQL refuses U+0000 in text (SQLSTATE 22021) and in jsonb (22P05); toAppError() maps
  // both to 422, where a NUL in any name or note used to be answered 500 internal.
  it('answers a NUL character in a name with 422, not 500', async () => {
    expectError(await t.post('/v1/auditors', { name: 'Ida\u0000' }, admin), 422, 'validation_failed');
    expectError(await t.post('/v1/zones', { name: 'Zo\u0000ne', boundary: square(3, 3) }, admin), 422, 'validation_failed');
    expectError(await t.post('/v1/drivers', { name: 'D\u0000', phone: '+15550177001', cancelPin: '1234', duressPin: '9876' }, admin), 422, 'validation_failed');
  });

  it('answers a NUL character in an SOS note with 422, not 500', async () => {
    const d = await t.post('/v1/drivers', { name: 'Nul', phone: '+15550177002', cancelPin: '1234', duressPin: '9876' }, admin);
    expect(d.status).toBe(201);
    const res = await t.post('/v1/sos', { clientRequestId: crypto.randomUUID(), kind: 'other', location: { lat: 1, lng: 1 }, note: 'help\u0000' }, d.body.token);
    expect(res.status, JSON.stringify(res.body)).toBeLessThan(500);
  });
});
