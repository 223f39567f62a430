/**
 * The OpenAPI document the app serves, against Redocly's linter and against the service: the
 * published event types are the database's, a zone's positions and nullable fields are
 * published as the service validates them, the Twilio webhooks are described, and every
 * operation is named. (test/fuzz.test.ts checks every fuzzed answer against the document.)
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { afterAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, PUBLIC_BASE_URL, testApp } from './helpers/app';
import { expectError } from './helpers/expect';
import { answerChecker, type OpenApiDoc } from './helpers/openapi';
import { square, world } from './helpers/world';

const t = await testApp();
const w = world(t);
const doc: OpenApiDoc = (await t.get('/openapi.json')).body;
const check = answerChecker(doc);
const operations = Object.entries(doc.paths).flatMap(([path, ops]) =>
  Object.entries(ops).filter(([m]) => ['get', 'post', 'put', 'patch', 'delete'].includes(m)).map(([method, op]) => ({ method, path, op })),
);

/** A validator of one schema of the document (refs resolve in the document). */
function schemaAt(name: string) {
  const ajv = new Ajv2020({ strict: false, logger: false });
  ajv.addSchema(doc as object, 'openapi.json');
  return ajv.compile({ $ref: `openapi.json#/components/schemas/${name}` });
}

describe('Redocly’s lint (redocly.yaml: the recommended rules)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mayday-openapi-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('finds no error and no warning in the document the app serves', () => {
    const file = join(dir, 'openapi.json');
    writeFileSync(file, JSON.stringify(doc, null, 2));
    const run = spawnSync(join(process.cwd(), 'node_modules/.bin/redocly'), ['lint', file, '--config', join(process.cwd(), 'redocly.yaml'), '--format=json'], {
      encoding: 'utf8', timeout: 60_000, env: { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true' },
    });
    expect(run.error, run.stderr).toBeUndefined();
    const out = JSON.parse(run.stdout.slice(run.stdout.indexOf('{')));
    const problems = out.problems.map((p: any) => `${p.severity} ${p.ruleId}: ${p.message} at ${p.location?.map((l: any) => l.pointer).join(' ')}`);
    expect(problems).toEqual([]);
    expect(run.status, run.stderr).toBe(0);
  });
});

describe('every operation', () => {
  it('has a summary and a unique operationId', () => {
    expect(operations.length).toBeGreaterThan(40);
    for (const { method, path, op } of operations) {
      expect(op.summary, `${method} ${path}`).toEqual(expect.stringMatching(/\S/));
      expect(op.operationId, `${method} ${path}`).toEqual(expect.stringMatching(/^[a-zA-Z]+$/));
    }
    const ids = operations.map((o) => o.op.operationId);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('documents its 4xx, except the probes, which take no input and need no token (security: [])', async () => {
    for (const { method, path, op } of operations) {
      if (path === '/healthz' || path === '/readyz') {
        expect(op.security, path).toEqual([]);
        continue;
      }
      expect(op.security?.length, `${method} ${path}: security`).toBeGreaterThan(0);
      expect(Object.keys(op.responses).some((s) => /^4/.test(s)), `${method} ${path}: a 4xx`).toBe(true);
    }
    for (const p of ['/healthz', '/readyz']) {
      const res = await t.app.request(p);
      expect([200, 503], p).toContain(res.status); // (the test app's readiness may say not ready: documented too)
      expect(check('GET', p, res.status, res.headers.get('content-type'), await res.text())).toBeNull();
    }
  });

  it('names the server: the public base URL', () => {
    expect(doc.servers).toEqual([{ url: PUBLIC_BASE_URL, description: expect.any(String) }]);
  });
});

describe('timeline event types', () => {
  it('the published enum is exactly what the database’s domain event_type accepts (its event_type_check)', async () => {
    const rows = await t.sql<{ def: string }[]>`
      SELECT pg_get_constraintdef(c.oid) AS def
      FROM pg_constraint c JOIN pg_type ty ON ty.oid = c.contypid
      WHERE ty.typname = 'event_type' AND c.conname = 'event_type_check'`;
    expect(rows).toHaveLength(1);
    const inDatabase = [...rows[0].def.matchAll(/'([^']+)'/g)].map((m) => m[1]).sort();
    expect(inDatabase).toContain('support.linked');
    const published = [...doc.components.schemas.TimelineEvent.properties.type.enum].sort();
    expect(published).toEqual(inDatabase);
  });
});

describe('POST /v1/zones: positions', () => {
  const zone = (ring: unknown[]) => ({ name: `Z ${Math.random()}`, boundary: { type: 'Polygon', coordinates: [ring] } });
  const ring = square(10, 10, 0.01).coordinates[0];

  it('the document says a position has 2 or 3 numbers, as the service does', () => {
    const create = schemaAt('CreateZone');
    expect(create(zone(ring))).toBe(true);
    for (const bad of [[], [10], [10, 10, 0, 0], [10, 'x'], [200, 10]]) {
      expect(create(zone([bad, ...ring.slice(1)])), JSON.stringify(bad)).toBe(false);
    }
    expect(create(zone(ring.map(([lng, lat]) => [lng, lat, 100])))).toBe(true);
  });

  it.for([
    [[], 'boundary.coordinates.0.0.0'],
    [[10, 10, 0, 0], 'boundary.coordinates.0.0'],
    [[200, 10], 'boundary.coordinates.0.0.0'],
    [[10, 'x'], 'boundary.coordinates.0.0.1'],
  ] as const)('%j is refused with the path of the field that is wrong (%s)', async ([bad, path]) => {
    const res = await t.post('/v1/zones', zone([bad, ...ring.slice(1)]), ADMIN_TOKEN);
    const e = expectError(res, 422, 'validation_failed');
    expect(e.message).toContain(path);
    expect((e.details as { path: string }[])[0].path).toBe(path);
  });

  it('a position with an altitude is still accepted', async () => {
    const res = await t.post('/v1/zones', zone(ring.map(([lng, lat]) => [lng, lat, 100])), ADMIN_TOKEN);
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expect(check('POST', '/v1/zones', res.status, res.headers.get('content-type'), JSON.stringify(res.body))).toBeNull();
  });
});

describe('nullable only where null is an answer', () => {
  it('the shared GeoJSONPolygon and EscalationPolicy refuse null; a zone’s boundary and policy may be null', () => {
    expect(schemaAt('GeoJSONPolygon')(null)).toBe(false);
    expect(schemaAt('EscalationPolicy')(null)).toBe(false);
    const props = doc.components.schemas.Zone.properties;
    for (const k of ['boundary', 'escalationPolicy']) expect(props[k].anyOf, k).toContainEqual({ type: 'null' });
  });

  it('null is refused where the document now says so, and a fallback zone (null boundary, null policy) matches the document', async () => {
    const z = await w.zone('Nullable', square(20, 20));
    expectError(await t.put(`/v1/zones/${z.id}/escalation-policy`, null, ADMIN_TOKEN), 422);
    expectError(await t.post('/v1/zones', { name: 'N', boundary: null }, ADMIN_TOKEN), 422);
    const requestSchema = doc.paths['/v1/zones/{id}/escalation-policy'].put.requestBody.content['application/json'].schema;
    expect(requestSchema).toEqual({ $ref: '#/components/schemas/EscalationPolicy' });
    const fallback = await t.post('/v1/zones', { name: 'Fallback', fallback: true }, ADMIN_TOKEN);
    expect(fallback.status, JSON.stringify(fallback.body)).toBe(201);
    expect(fallback.body).toMatchObject({ boundary: null, escalationPolicy: null });
    expect(check('POST', '/v1/zones', 201, fallback.headers.get('content-type'), JSON.stringify(fallback.body))).toBeNull();
    const got = await t.get(`/v1/zones/${fallback.body.id}`, ADMIN_TOKEN);
    expect(check('GET', '/v1/zones/{id}', got.status, got.headers.get('content-type'), JSON.stringify(got.body))).toBeNull();
  });
});

describe('the Twilio webhooks', () => {
  const hooks = Object.keys(doc.paths).filter((p) => p.startsWith('/webhooks/'));

  it('every webhook route the app serves is in the document, and nothing else under /webhooks', () => {
    const served = [...new Set(t.app.routes.filter((r) => r.path.startsWith('/webhooks/') && r.method === 'POST').map((r) => r.path))].sort();
    expect(served.length).toBe(6); // Twilio's five and Noonlight's
    expect(hooks.sort()).toEqual(served);
  });

  it.for(['/webhooks/twilio/sms', '/webhooks/twilio/status', '/webhooks/twilio/voice/status', '/webhooks/twilio/voice/amd', '/webhooks/twilio/voice/gather'])(
    '%s: a form body that allows Twilio’s other fields, X-Twilio-Signature, TwiML or 204, and the refusals',
    async (path) => {
      const op = doc.paths[path].post;
      expect(op.security).toEqual([{ twilioSignature: [] }]);
      expect(doc.components.securitySchemes?.twilioSignature).toMatchObject({ type: 'apiKey', in: 'header', name: 'X-Twilio-Signature' });
      const form = op.requestBody.content['application/x-www-form-urlencoded'].schema;
      expect(form.type).toBe('object');
      expect(form.additionalProperties).not.toBe(false);
      expect(form.required ?? []).toEqual([]);
      const ok = op.responses['200'] ? op.responses['200'].content['text/xml'] : op.responses['204'];
      expect(ok, 'TwiML or 204').toBeDefined();
      expect(Object.keys(op.responses).sort()).toEqual([op.responses['200'] ? '200' : '204', '403', '413', '415', '422']);
      // Unsigned: 403, as documented (the signature is checked before anything else).
      const res = await t.app.request(path, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'From=%2B15550100001&Body=ACK&Extra=1' });
      const text = await res.text();
      expect(res.status).toBe(403);
      expect(check('POST', path, res.status, res.headers.get('content-type'), text)).toBeNull();
    },
  );
});
