/**
 * Hostile input, property-based (fast-check): every endpoint of /openapi.json, and every Twilio
 * webhook, gets generated garbage in its body, path, query and headers. The properties: no
 * answer is ever ≥ 500, every answer is one the document declares for its operation (status,
 * content type and body, validated against the response schema), every 4xx is exactly the one
 * error body, and garbage changes nothing it should not. Runs are bounded and repeatable: a fixed seed and a fixed number of runs per
 * endpoint (see RUNS), well under a minute on a small machine.
 */
import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import twilio from 'twilio';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { MAX_BODY_BYTES } from '../src/app';
import type { Role } from '../src/auth/principal';
import { ADMIN_TOKEN, PUBLIC_BASE_URL, testApp, type TestApp } from './helpers/app';
import { ACCESS_TABLE, ALL_ROLES } from './helpers/access-table';
import { answerChecker } from './helpers/openapi';
import { mockTwilio, postSigned, TWILIO, type Sent } from './helpers/twilio';
import { square, world, type Person } from './helpers/world';

fc.configureGlobal({ seed: 42 });
/** Runs per endpoint: ~40 endpoints × RUNS requests, a few ms each. */
const RUNS = 100;

// ---------------------------------------------------------------------------------------------
// What every answer must look like.

interface Answer {
  status: number;
  text: string;
  headers: Headers;
}

async function answer(res: Response): Promise<Answer> {
  return { status: res.status, text: await res.text(), headers: res.headers };
}

/** Checks an answer against the document's response for an operation (set once the document is read). */
let conforms: ReturnType<typeof answerChecker>;

/**
 * Fails (throws) unless the answer is < 500, is one the document declares for `op` ("METHOD
 * /path/{template}"; null for a route that does not exist), and, when it is an error, exactly the
 * one error body.
 */
function checkAnswer(a: Answer, what: string, op: string | null) {
  const ctx = `${what} → ${a.status} ${a.text.slice(0, 300)}`;
  if (a.status >= 500) throw new Error(`5xx: ${ctx}`);
  if (op) {
    const [method, path] = op.split(' ');
    const wrong = conforms(method, path, a.status, a.headers.get('content-type'), a.text);
    if (wrong) throw new Error(`not as the document says (${op}): ${wrong}: ${ctx}`);
  }
  if (a.status < 400) return;
  if (!/^application\/json/.test(a.headers.get('content-type') ?? '')) throw new Error(`error not JSON: ${ctx}`);
  const body = JSON.parse(a.text);
  if (Object.keys(body).join() !== 'error') throw new Error(`not the one error body: ${ctx}`);
  const e = body.error;
  const keys = Object.keys(e).filter((k) => k !== 'details').sort().join();
  if (keys !== 'code,message,requestId') throw new Error(`error body keys ${keys}: ${ctx}`);
  for (const k of ['code', 'message', 'requestId']) if (typeof e[k] !== 'string' || !e[k]) throw new Error(`error.${k} empty: ${ctx}`);
  if (e.requestId !== a.headers.get('x-request-id')) throw new Error(`requestId differs from X-Request-Id: ${ctx}`);
  if (/\bat .+:\d+:\d+\)|node_modules|\.ts:\d+/.test(a.text)) throw new Error(`a stack trace in the answer: ${ctx}`);
}

// ---------------------------------------------------------------------------------------------
// Garbage.

/** A number written exactly as given into the JSON text: -0, 1e400, 30 digits ... */
class Raw {
  constructor(readonly text: string) {}
}
function toJson(v: unknown): string {
  if (v instanceof Raw) return v.text;
  if (Array.isArray(v)) return `[${v.map(toJson).join(',')}]`;
  if (v && typeof v === 'object') return `{${Object.entries(v).filter(([, x]) => x !== undefined).map(([k, x]) => `${JSON.stringify(k)}:${toJson(x)}`).join(',')}}`;
  return JSON.stringify(v) ?? 'null';
}

const DEEP = 10_000;
const deepArray = '['.repeat(DEEP) + ']'.repeat(DEEP);
const deepObject = '{"a":'.repeat(DEEP) + '1' + '}'.repeat(DEEP);

const rawNumber = fc
  .constantFrom('1e308', '-1e308', '1e400', '-1e400', '-0', '-0.0', '4.9e-324', '2e-400', '1E+2', '123456789012345678901234567890', '9007199254740993', '0.1e1')
  .map((s) => new Raw(s));
const weirdString = fc.constantFrom(
  '', ' ', '\u0000', 'a\u0000b', '\uD800', '\uDFFF', 'x\uD83D', '\u202Eevil\u202C', '\u200F\u200E', '\uFEFF', '\u2028\u2029',
  'NaN', 'Infinity', '-Infinity', '-0', '1e308', 'null', 'true', '[]', '{}', '__proto__', 'constructor',
  '٧١٩٣٨٢٦٤', '７１９３８２６４', '१२३४', '𝟕𝟏𝟗𝟑', '¹²³⁴', "'; DROP TABLE incidents; --", '%00', '%ZZ', '../../etc/passwd',
  '<script>alert(1)</script>', 'x'.repeat(5000), '\n\r\t', '2024-02-30T00:00:00Z', '0000-01-01T00:00:00Z', '9999-12-31T23:59:59Z',
  '+15550100001', '+1555010000١', '00000000-0000-0000-0000-000000000000', 'ZZZZZZZZ-ZZZZ-ZZZZ-ZZZZ-ZZZZZZZZZZZZ', 'e'.repeat(70_000),
);
const anyString = fc.oneof(weirdString, fc.string({ unit: 'binary', maxLength: 40 }), fc.string({ unit: 'grapheme', maxLength: 20 }));
const anyNumber = fc.oneof(rawNumber, fc.double(), fc.integer(), fc.constantFrom(-1, 0, 1, 2 ** 31, -(2 ** 31) - 1, 2 ** 53 + 2, Number.MAX_VALUE, Number.MIN_VALUE));
const garbage: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 3, arbitrary: anyString },
  { weight: 3, arbitrary: anyNumber },
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.anything({ maxDepth: 2 }), { maxLength: 3 }),
  fc.dictionary(anyString, fc.anything({ maxDepth: 1 }), { maxKeys: 3 }),
);

type Schema = Record<string, any>;
let components: Record<string, Schema> = {};
const deref = (s: Schema): Schema => (s?.$ref ? deref(components[s.$ref.split('/').pop()!]) : s);

/** Values shaped like `schema`: the right keys, each holding either garbage or a value shaped like its own schema. */
function shaped(schema: Schema | undefined, depth = 0): fc.Arbitrary<unknown> {
  const s = schema ? deref(schema) : undefined;
  if (!s || depth > 4) return garbage;
  const alts = s.anyOf ?? s.oneOf ?? s.allOf;
  if (alts) return fc.oneof(...alts.map((a: Schema) => shaped(a, depth + 1)));
  if (s.enum) return fc.oneof(fc.constantFrom(...s.enum), garbage);
  if (s.const !== undefined) return fc.oneof(fc.constant(s.const), garbage);
  const type = Array.isArray(s.type) ? s.type[0] : s.type;
  switch (type) {
    case 'object': {
      const props: Record<string, fc.Arbitrary<unknown>> = {};
      for (const [k, v] of Object.entries<Schema>(s.properties ?? {})) props[k] = fc.oneof({ weight: 2, arbitrary: shaped(v, depth + 1) }, garbage);
      return fc.oneof(
        { weight: 4, arbitrary: fc.record(props, { requiredKeys: [] }) },
        fc.tuple(fc.record(props, { requiredKeys: [] }), fc.dictionary(anyString, garbage, { maxKeys: 2 })).map(([a, b]) => ({ ...b, ...a })),
      );
    }
    case 'array':
      return fc.oneof(fc.array(shaped(s.items, depth + 1), { maxLength: 4 }), garbage);
    case 'string':
      return fc.oneof(anyString, fc.uuid(), fc.date({ noInvalidDate: true }).map((d) => d.toISOString()), garbage);
    case 'number':
    case 'integer':
      return fc.oneof({ weight: 3, arbitrary: anyNumber }, garbage);
    default:
      return garbage;
  }
}

/** A request body: JSON text, raw bytes, or nothing. */
type Body = { kind: string; data?: string | Uint8Array };
const INVALID_UTF8 = [[0xc3, 0x28], [0xff], [0xfe, 0xff], [0xed, 0xa0, 0x80], [0xc0, 0x80], [0xf8, 0x88, 0x80, 0x80, 0x80], [0xe2, 0x82], [0x00]];
const invalidUtf8Body = fc
  .tuple(fc.constantFrom(...INVALID_UTF8), fc.constantFrom('{"name":"', '{"pin":"', '{"body":"', '{"clientRequestId":"', '"'))
  .map(([bytes, prefix]) => ({ kind: 'invalid utf-8', data: Buffer.concat([Buffer.from(prefix), Buffer.from(bytes), Buffer.from('"}')]) }));

function bodyArb(schema: Schema | undefined): fc.Arbitrary<Body> {
  return fc.oneof(
    { weight: 5, arbitrary: shaped(schema).map((v) => ({ kind: 'shaped', data: toJson(v) })) },
    { weight: 2, arbitrary: fc.anything({ withNullPrototype: true, withObjectString: true }).map((v) => ({ kind: 'anything', data: JSON.stringify(v) ?? 'null' })) },
    { weight: 2, arbitrary: fc.json().map((j) => ({ kind: 'json', data: j })) },
    { weight: 1, arbitrary: fc.string({ maxLength: 30 }).map((s) => ({ kind: 'text', data: s })) },
    { weight: 1, arbitrary: fc.constantFrom(deepArray, deepObject, `{"location":${deepObject}}`, `[${'{"a":['.repeat(2000)}1${']}'.repeat(2000)}]`).map((d) => ({ kind: 'deep', data: d })) },
    { weight: 1, arbitrary: invalidUtf8Body },
    { weight: 1, arbitrary: fc.constantFrom('NaN', '{"lat":NaN}', '{"a":1,}', '\uFEFF{}', '{"a":1}{"b":2}', '[', '"\\ud800"', '{"__proto__":{"admin":true}}').map((d) => ({ kind: 'raw', data: d })) },
    { weight: 1, arbitrary: fc.constant({ kind: 'none' }) },
  );
}

const contentType = fc.oneof(
  { weight: 8, arbitrary: fc.constant('application/json') },
  fc.constantFrom(
    'application/json; charset=utf-8', 'application/json; charset=utf-16', 'APPLICATION/JSON', 'application/vnd.api+json',
    'application/json;;;', 'application/json, text/plain', 'text/plain', '', 'multipart/form-data; boundary=x',
    'application/x-www-form-urlencoded', 'application/jsonx', 'json', `application/json; x=${'y'.repeat(8000)}`,
  ),
);

/** Path parameter values: real ids, other uuids, near-uuids, very long, odd characters, bad escapes. */
function paramArb(real: string[]): fc.Arbitrary<string> {
  const near = fc.uuid().map((u) => u.toUpperCase());
  const odd = fc.constantFrom(
    'not-a-uuid', '00000000-0000-0000-0000-000000000000', 'zzzzzzzz-zzzz-zzzz-zzzz-zzzzzzzzzzzz', '1', '-1', '1e308', 'NaN', 'null',
    'a'.repeat(5000), '%00', '%ZZ', '%', '%E0%A4%A', '%C0%80', '%FF', '%2F', '..', '%2E%2E', '%20', `${randomUUID()}%00`, `${randomUUID()}x`,
    '%2B15550100001', '+15550100001', '%2B1', `CA${'0'.repeat(32)}`, `CA${'f'.repeat(32)}`, `ca${'0'.repeat(32)}`, `SM${'0'.repeat(32)}`,
    '%E2%80%AE%00%ED%A0%80', encodeURIComponent('٧١٩٣'),
  );
  const enc = anyString.map((s) => encodeURIComponent(s.replace(/[\uD800-\uDFFF]/g, '?')));
  return fc.oneof({ weight: 2, arbitrary: fc.constantFrom(...real) }, fc.uuid(), near, { weight: 3, arbitrary: odd }, enc);
}

const QUERY_KEYS = ['status', 'limit', 'at', 'from', 'to', 'format', 'targetSeconds', 'page', 'x', '__proto__', ''];
const queryValue = fc.oneof(
  fc.constantFrom('active', 'open', 'resolved', '1', '0', '-1', '1e400', 'NaN', 'Infinity', '0x10', '500', '501', '2024-01-01T00:00:00Z', '2024-02-30T00:00:00Z', '0000-01-01T00:00:00Z', '0001-01-01T00:00:00%2B14:00', '0000-06-01', '9999-12-31T23:59:59Z', 'csv', 'ndjson', 'geojson', 'eido', 'xml', '%ZZ', '%00', 'x'.repeat(3000)),
  anyString.map((s) => encodeURIComponent(s.replace(/[\uD800-\uDFFF]/g, '?'))),
);
const queryArb = fc.oneof(
  { weight: 2, arbitrary: fc.constant('') },
  { weight: 4, arbitrary: fc.array(fc.tuple(fc.constantFrom(...QUERY_KEYS), queryValue), { maxLength: 4 }).map((kv) => (kv.length ? `?${kv.map(([k, v]) => `${k}=${v}`).join('&')}` : '')) },
  fc.constantFrom('?', '?&&&', '?status', '?limit=1&limit=2', '?status[]=open', '?a=%', `?x=${'y'.repeat(20_000)}`),
);

/** A query string shaped by the operation's own parameters: known names, values that are valid, near-valid or garbage. */
function shapedQuery(op: Schema): fc.Arbitrary<string> {
  const params = ((op.parameters ?? []) as Schema[]).filter((p) => p.in === 'query');
  if (!params.length) return queryArb;
  const iso = fc.oneof(
    { weight: 4, arbitrary: fc.date({ min: new Date('1969-01-01'), max: new Date('2101-01-01'), noInvalidDate: true }).map((d) => d.toISOString()) },
    // The edges of what ISO 8601 (4-digit years) can say, and of what PostgreSQL can store.
    fc.constantFrom('0000-01-01T00:00:00Z', '0000-12-31', '0001-01-01T00:00:00+14:00', '0001-01-01T00:00:00Z', '9999-12-31T23:59:59.999Z', '9999-12-31T23:59:59-14:00'),
  );
  const value = (p: Schema): fc.Arbitrary<string> => {
    const s = deref(p.schema ?? {});
    const valid: fc.Arbitrary<string> = s.enum
      ? fc.constantFrom(...s.enum.map(String))
      : s.format === 'date-time' || /^(at|from|to)$/.test(p.name)
        ? iso
        : s.type === 'integer' || s.type === 'number'
          ? fc.integer({ min: -2, max: 100_000 }).map(String)
          : fc.string({ maxLength: 10 });
    return fc.oneof({ weight: 3, arbitrary: valid }, queryValue);
  };
  const entries = fc.tuple(...params.map((p) => fc.option(value(p).map((v) => `${p.name}=${encodeURIComponent(v)}`), { freq: 4 })));
  return fc.oneof({ weight: 3, arbitrary: entries.map((kv) => `?${kv.filter(Boolean).join('&')}`) }, queryArb);
}

type Caller = Role | 'none' | 'wrong' | 'malformed' | 'duplicate' | 'huge';
const extraHeaders = fc.record(
  {
    'x-request-id': fc.constantFrom('r', 'x'.repeat(10_000), 'a b', '\u00ff\u00fe', '../..', ''),
    accept: fc.constantFrom('*/*', 'text/html', 'application/xml', ''),
    'x-forwarded-for': fc.constantFrom('1.2.3.4', 'x'.repeat(8000)),
    'content-encoding': fc.constantFrom('gzip', 'br', 'identity'),
  },
  { requiredKeys: [] },
);

// ---------------------------------------------------------------------------------------------
// The app and its world.

const t: TestApp = await testApp();
const w = world(t);
const doc: { paths: Record<string, Record<string, Schema>>; components: { schemas: Record<string, Schema> } } = (await t.get('/openapi.json')).body;
components = doc.components?.schemas ?? {};
conforms = answerChecker(doc as never);
const METHODS = ['get', 'post', 'put', 'patch', 'delete'] as const;
/** The token-checked API and the probes; Twilio's webhooks (signed, form-encoded) are fuzzed at the end. */
const endpoints = Object.entries(doc.paths).filter(([path]) => !path.startsWith('/webhooks/')).flatMap(([path, ops]) =>
  METHODS.filter((m) => ops[m]).map((m) => ({ method: m.toUpperCase(), path, op: ops[m] })),
);
/** The operation ("METHOD /path/{template}") a concrete request is for. */
function opOf(method: string, url: string): string {
  const path = url.split('?')[0];
  const e = endpoints.find((x) => x.method === method && new RegExp(`^${x.path.replace(/\{\w+\}/g, '[^/]+')}$`).test(path));
  if (!e) throw new Error(`no operation for ${method} ${path}`);
  return `${e.method} ${e.path}`;
}

const tokens = {} as Record<Role, string>;
let ids: string[] = [];
let driver: Person;
let incidentId: string;
let phone: string;

beforeAll(async () => {
  const zone = await w.zone('Fuzz zone', square(36.37, -94.2));
  const sup = await w.responder('supervisor', [zone.id], 'Sue');
  const lead = await w.responder('safety_lead', [], 'Lee');
  driver = await w.driver('Dana', { cancelPin: '71938264', duressPin: '48261937' });
  const auditor = await w.auditor();
  const agent = await w.agent(1);
  Object.assign(tokens, { admin: ADMIN_TOKEN, driver: driver.token, supervisor: sup.token, safety_lead: lead.token, auditor: auditor.token, agent: agent.token });
  const sos = await w.sos(driver);
  expect(sos.status).toBe(201);
  incidentId = sos.body.incident.id;
  const sr = await t.post('/v1/support-requests', { category: 'payment', text: 'late payout' }, driver.token);
  ids = [incidentId, zone.id, sr.body.supportRequest.id];
  phone = sup.phone;
});

function tokenOf(c: Caller): string | string[] | undefined {
  switch (c) {
    case 'none': return undefined;
    case 'wrong': return `Bearer mdy_drv_${randomUUID()}`;
    case 'malformed': return `Basic ${Buffer.from('admin:admin').toString('base64')}`;
    case 'duplicate': return [`Bearer ${tokens.driver}`, `Bearer ${ADMIN_TOKEN}`];
    case 'huge': return `Bearer ${'t'.repeat(20_000)}`;
    default: return `Bearer ${tokens[c]}`;
  }
}

/** The roles the access table lets through (all of them for an endpoint the table lacks: test/access.test.ts fails then). */
const allowedFor = (method: string, path: string): Role[] => [...(ACCESS_TABLE.find((r) => r.method === method && r.path === path)?.roles ?? ALL_ROLES)];

function callerArb(method: string, path: string): fc.Arbitrary<Caller> {
  const allowed = allowedFor(method, path);
  const others: Caller[] = [...ALL_ROLES.filter((r) => !allowed.includes(r)), 'none', 'wrong', 'malformed', 'duplicate', 'huge'];
  return allowed.length ? fc.oneof({ weight: 7, arbitrary: fc.constantFrom(...allowed) }, { weight: 3, arbitrary: fc.constantFrom(...others) }) : fc.constantFrom(...others, ...ALL_ROLES);
}

interface Req { method: string; url: string; caller: Caller; body: Body; type: string; headers: Record<string, string> }

async function send(r: Req): Promise<Answer> {
  const h = new Headers();
  const auth = tokenOf(r.caller);
  for (const a of Array.isArray(auth) ? auth : auth ? [auth] : []) h.append('authorization', a);
  for (const [k, v] of Object.entries(r.headers)) h.set(k, v);
  let body: string | Uint8Array | undefined;
  if (r.body.data !== undefined && r.method !== 'GET') {
    body = r.body.data;
    h.set('content-type', r.type);
    h.set('content-length', String(typeof body === 'string' ? Buffer.byteLength(body) : body.byteLength));
  }
  return answer(await t.app.request(r.url, { method: r.method, headers: h, body: body as RequestInit['body'] }));
}

const describeReq = (r: Req) => `${r.method} ${r.url.slice(0, 200)} as ${r.caller}, ${r.body.kind} body (${r.type.slice(0, 40)}): ${String(typeof r.body.data === 'string' ? r.body.data : r.body.data ? Buffer.from(r.body.data).toString('hex') : '').slice(0, 200)}`;

// ---------------------------------------------------------------------------------------------

describe('every endpoint of /openapi.json, fuzzed', () => {
  it('the document lists the endpoints (the fuzz below covers each one)', () => {
    expect(endpoints.length).toBeGreaterThan(30);
  });

  it.for(endpoints.map((e) => [`${e.method} ${e.path}`, e] as const))('%s: never ≥ 500, every error the one body', async ([, e]) => {
    const params = [...e.path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]);
    const real = (name: string) => (name === 'phone' ? [encodeURIComponent(phone)] : name === 'sid' ? [`CA${'0'.repeat(32)}`] : ids);
    const schema = e.op.requestBody?.content?.['application/json']?.schema as Schema | undefined;
    const reqArb = fc.record({
      params: fc.tuple(...params.map((p) => paramArb(real(p)))) as fc.Arbitrary<string[]>,
      query: shapedQuery(e.op),
      caller: callerArb(e.method, e.path),
      body: bodyArb(schema),
      type: contentType,
      headers: fc.oneof({ weight: 4, arbitrary: fc.constant({}) }, extraHeaders),
    });
    const seen: Record<number, number> = {};
    await fc.assert(
      fc.asyncProperty(reqArb, async (x) => {
        let i = 0;
        const url = e.path.replace(/\{\w+\}/g, () => x.params[i++]) + x.query;
        const r: Req = { method: e.method, url, caller: x.caller, body: x.body, type: x.type, headers: x.headers as Record<string, string> };
        const a = await send(r);
        checkAnswer(a, describeReq(r), `${e.method} ${e.path}`);
        seen[a.status] = (seen[a.status] ?? 0) + 1;
      }),
      { numRuns: RUNS },
    );
    if (process.env.FUZZ_STATS) console.log(`${e.method} ${e.path}`, JSON.stringify(seen));
    // The garbage got past the role check often enough to reach the route's own validation and handler.
    const past = Object.entries(seen).filter(([s]) => s !== '401' && s !== '403').reduce((n, [, c]) => n + c, 0);
    expect(past, JSON.stringify(seen)).toBeGreaterThan(RUNS / 5);
  });

  it('methods and paths that do not exist: 404 in the one body, never ≥ 500', async () => {
    const paths = endpoints.map((e) => e.path.replace(/\{\w+\}/g, randomUUID()));
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...paths),
        fc.constantFrom('PUT', 'PATCH', 'DELETE', 'OPTIONS', 'POST', 'GET'),
        fc.constantFrom('', '/', '/x', '//', '/..', '%2F', '.json', `/${'a'.repeat(3000)}`),
        async (path, method, suffix) => {
          const url = path + suffix;
          const exists = !suffix && endpoints.some((e) => e.method === method && new RegExp(`^${e.path.replace(/\{\w+\}/g, '[^/]+')}$`).test(path));
          if (exists) return;
          const a = await answer(await t.app.request(url, { method, headers: { authorization: `Bearer ${ADMIN_TOKEN}` } }));
          checkAnswer(a, `${method} ${url.slice(0, 120)}`, null);
        },
      ),
      { numRuns: 100 },
    );
  });
});

describe('bodies past the limit', () => {
  const big = (n: number) => JSON.stringify({ name: 'x'.repeat(n) });

  it.for(endpoints.filter((e) => e.method !== 'GET').map((e) => [`${e.method} ${e.path}`, e] as const))(
    '%s: over MAX_BODY_BYTES is 413, with or without a content-length',
    async ([, e]) => {
      const url = e.path.replace(/\{\w+\}/g, () => incidentId);
      const caller = allowedFor(e.method, e.path)[0] ?? 'admin';
      const body = big(MAX_BODY_BYTES + 10);
      const withLength = await send({ method: e.method, url, caller, body: { kind: 'big', data: body }, type: 'application/json', headers: {} });
      checkAnswer(withLength, `${e.method} ${url} with ${body.length} bytes`, `${e.method} ${e.path}`);
      expect(withLength.status).toBe(413);

      const chunk = new TextEncoder().encode(big(60 * 1024));
      let n = 0;
      const stream = new ReadableStream<Uint8Array>({ pull: (ctl) => (n++ < 6 ? ctl.enqueue(chunk) : ctl.close()) });
      const noLength = await answer(await t.app.request(url, {
        method: e.method, body: stream, duplex: 'half',
        headers: { authorization: `Bearer ${tokens[caller as Role] ?? ADMIN_TOKEN}`, 'content-type': 'application/json', 'transfer-encoding': 'chunked' },
      } as RequestInit));
      checkAnswer(noLength, `${e.method} ${url} streamed`, `${e.method} ${e.path}`);
      expect(noLength.status).toBe(413);

      // A content-length that lies (says small, sends big) is caught by the stream count too.
      const liar = await answer(await t.app.request(url, {
        method: e.method, body, headers: { authorization: `Bearer ${tokens[caller as Role] ?? ADMIN_TOKEN}`, 'content-type': 'application/json', 'content-length': '10' },
      }));
      checkAnswer(liar, `${e.method} ${url} lying content-length`, `${e.method} ${e.path}`);
    },
  );
});

describe('valid bodies with one hostile value', () => {
  /** Every leaf of a valid body, replaced in turn by each of these. */
  const HOSTILE: unknown[] = [
    'x\u0000y', '\uD800', '\u202E\u200Fmirror', '', ' ', 'e'.repeat(70_000), '٧١٩٣٨٢٦٤', '１２３４',
    new Raw('1e308'), new Raw('-1e400'), new Raw('-0'), new Raw('123456789012345678901234567890'), 'NaN', -1, 0, 1.5, null, true, [], {}, [[[[[]]]]],
  ];
  function leaves(v: unknown, path: (string | number)[] = []): (string | number)[][] {
    if (Array.isArray(v)) return v.length ? v.flatMap((x, i) => leaves(x, [...path, i])) : [path];
    if (v && typeof v === 'object') return Object.entries(v).flatMap(([k, x]) => leaves(x, [...path, k]));
    return [path];
  }
  function replaced(v: unknown, path: (string | number)[], by: unknown): unknown {
    if (!path.length) return by;
    const [head, ...rest] = path;
    const copy: any = Array.isArray(v) ? [...v] : { ...(v as object) };
    copy[head] = replaced(copy[head], rest, by);
    return copy;
  }
  const idFor = (path: string) =>
    path.startsWith('/v1/zones/') ? ids[1] : path.startsWith('/v1/support-requests/') ? ids[2] : path.startsWith('/v1/incidents/') ? incidentId : randomUUID();

  it.for(ACCESS_TABLE.filter((r) => r.body && endpoints.some((e) => e.method === r.method && e.path === r.path)).map((r) => [`${r.method} ${r.path}`, r] as const))(
    '%s: each field in turn NUL, a lone surrogate, RTL marks, 70 KB, other digits, 1e308, -1e400, -0, wrong types: never ≥ 500',
    async ([, row]) => {
      const url = row.path.replace('{id}', idFor(row.path)).replace('{phone}', encodeURIComponent(phone)).replace('{sid}', `CA${'0'.repeat(32)}`);
      const caller = row.roles[0];
      const valid = row.body!();
      const all = leaves(valid);
      if (!all.length) all.push([]); // {}: the whole body is the one value
      for (const leaf of all) {
        for (const h of HOSTILE) {
          const data = toJson(replaced(valid, leaf, h));
          checkAnswer(await send({ method: row.method, url, caller, body: { kind: 'one hostile value', data }, type: 'application/json', headers: {} }), `${row.method} ${url} ${data.slice(0, 200)}`, `${row.method} ${row.path}`);
        }
      }
      for (const data of [deepArray, deepObject, toJson(replaced(valid, all[0], new Raw(deepObject)))]) {
        const a = await send({ method: row.method, url, caller, body: { kind: 'deep', data }, type: 'application/json', headers: {} });
        checkAnswer(a, `${row.method} ${url} 10,000 levels deep`, `${row.method} ${row.path}`);
        expect([400, 404, 409, 422], a.text).toContain(a.status);
      }
      for (const bytes of INVALID_UTF8) {
        const json = toJson(valid);
        const cut = json.indexOf('"', 2) + 1; // inside the first string value's quotes, or near the start
        const data = Buffer.concat([Buffer.from(json.slice(0, cut)), Buffer.from(bytes), Buffer.from(json.slice(cut))]);
        checkAnswer(await send({ method: row.method, url, caller, body: { kind: 'invalid utf-8', data }, type: 'application/json', headers: {} }), `${row.method} ${url} with bytes ${Buffer.from(bytes).toString('hex')}`, `${row.method} ${row.path}`);
      }
    },
  );
});

describe('POST /v1/sos with hostile locations', () => {
  const incidents = async () => (await t.sql<{ n: number }[]>`SELECT count(*)::int AS n FROM incidents`)[0].n;
  const bad = {
    lat: fc.constantFrom<unknown>(new Raw('1e308'), new Raw('-1e308'), new Raw('1e400'), 90.000001, -90.5, 180, 'NaN', '36.37', '-0', null, true, [], {}, new Raw('123456789012345678901234567890')),
    lng: fc.constantFrom<unknown>(new Raw('1e308'), new Raw('-1e400'), 180.000001, -181, 'NaN', '-0', '-94.2', null, false, [1], 'Infinity'),
    accuracyM: fc.constantFrom<unknown>(-1, -0.000001, new Raw('-1e308'), 1_000_000.5, new Raw('1e308'), new Raw('1e400'), 'NaN', '5', null, []),
    capturedAt: fc.constantFrom<unknown>('yesterday', '', '2024-02-30T00:00:00Z', '2024-01-01T24:00:00Z', '2024-01-01T23:59:60Z', '2024-01-01', '2024-01-01T00:00:00', '2024-01-01T00:00:00+99:99', 'NaN', 0, new Raw('1e400'), null, '\u0000', '2024-01-01T00:00:00Z\u0000', '١٩٧٠-٠١-٠١T00:00:00Z'),
  };
  const good = { lat: fc.double({ min: -90, max: 90, noNaN: true }), lng: fc.double({ min: -180, max: 180, noNaN: true }), accuracyM: fc.double({ min: 0, max: 1_000_000, noNaN: true }), capturedAt: fc.constant(new Date().toISOString()) };

  it('one or more invalid location fields: 422, and no incident stored, whatever the rest', async () => {
    const before = await incidents();
    const badField = fc.constantFrom('lat', 'lng', 'accuracyM', 'capturedAt') as fc.Arbitrary<keyof typeof bad>;
    const location = fc
      .tuple(badField, fc.subarray(['lat', 'lng', 'accuracyM', 'capturedAt'] as (keyof typeof bad)[]), fc.record(bad), fc.record(good))
      .map(([must, more, b, g]) => {
        const loc: Record<string, unknown> = { ...g };
        for (const k of new Set([must, ...more])) loc[k] = b[k];
        return loc;
      });
    await fc.assert(
      fc.asyncProperty(location, fc.constantFrom('robbery', 'crash', 'other'), async (loc, kind) => {
        const body = toJson({ clientRequestId: randomUUID(), kind, location: loc });
        const a = await send({ method: 'POST', url: '/v1/sos', caller: 'driver', body: { kind: 'sos', data: body }, type: 'application/json', headers: {} });
        checkAnswer(a, `SOS ${body}`, 'POST /v1/sos');
        if (a.status !== 422 && a.status !== 400) throw new Error(`SOS with a bad location answered ${a.status}: ${body}`);
      }),
      { numRuns: 150 },
    );
    expect(await incidents()).toBe(before);
  });

  it('edge values that are valid (poles, antimeridian, -0, accuracy 0, far dates) are stored or refused, never a 5xx', async () => {
    const edge = fc.record({
      lat: fc.constantFrom<unknown>(90, -90, 0, new Raw('-0'), 5e-324, 36.37291),
      lng: fc.constantFrom<unknown>(180, -180, 0, new Raw('-0'), -94.20883),
      accuracyM: fc.constantFrom<unknown>(0, new Raw('-0'), 1_000_000, 5e-324, undefined),
      capturedAt: fc.constantFrom<unknown>(
        '0000-01-01T00:00:00Z', '0001-01-01T00:00:00+14:00', '0001-01-01T00:00:00Z', '9999-12-31T23:59:59Z', '9999-12-31T23:59:59-14:00',
        '1970-01-01T00:00:00Z', '2024-01-01T00:00:00.123456789+14:00', '2024-01-01T00:00:00-12:00', undefined,
      ),
    }, { requiredKeys: ['lat', 'lng'] });
    await fc.assert(
      fc.asyncProperty(edge, async (loc) => {
        const body = toJson({ clientRequestId: randomUUID(), kind: 'other', location: loc });
        const a = await send({ method: 'POST', url: '/v1/sos', caller: 'driver', body: { kind: 'sos', data: body }, type: 'application/json', headers: {} });
        checkAnswer(a, `SOS ${body}`, 'POST /v1/sos');
      }),
      { numRuns: 40 },
    );
  });
});

describe('instants at the edges of the calendar', () => {
  /** Valid ISO 8601 for zod, but outside what PostgreSQL stores once in UTC (year 0, year 10000). */
  const EDGES = ['0000-01-01T00:00:00Z', '0001-01-01T00:00:00+14:00', '0001-01-01T00:00:00Z', '9999-12-31T23:59:59Z', '9999-12-31T23:59:59-14:00', '9999-12-31'];

  it('every input that takes an instant answers < 500 for each, and the audit export refuses them before it streams', async () => {
    const zoneId = ids[1];
    const now = new Date().toISOString();
    for (const at of EDGES) {
      const q = encodeURIComponent(at);
      const reqs: [string, string, string | undefined, unknown][] = [
        ['GET', `/v1/zones/${zoneId}/oncall?at=${q}`, ADMIN_TOKEN, undefined],
        ['POST', `/v1/zones/${zoneId}/overrides`, ADMIN_TOKEN, { responderId: randomUUID(), from: at, to: '9999-12-31T23:59:59Z' }],
        ['POST', `/v1/zones/${zoneId}/overrides`, ADMIN_TOKEN, { responderId: randomUUID(), from: '0001-01-01T00:00:00Z', to: at }],
        ['PUT', `/v1/zones/${zoneId}/rotation`, ADMIN_TOKEN, { responderIds: [randomUUID()], shiftMinutes: 60, startsAt: at }],
        ['POST', `/v1/incidents/${incidentId}/locations`, driver.token, { lat: 36.37, lng: -94.2, capturedAt: at }],
        ['POST', '/v1/sos', driver.token, { clientRequestId: randomUUID(), kind: 'other', location: { lat: 36.37, lng: -94.2, capturedAt: at } }],
        ...['/v1/audit/export', '/v1/audit/verify', '/v1/reports/response-times', '/v1/audit/log'].flatMap((path): [string, string, string, undefined][] => [
          ['GET', `${path}?from=${q}&to=${encodeURIComponent(now)}`, tokens.auditor, undefined],
          ['GET', `${path}?from=2000-01-01T00:00:00Z&to=${q}`, tokens.auditor, undefined],
        ]),
      ];
      for (const [method, url, token, body] of reqs) {
        const res = await t.app.request(url, {
          method, headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) }, body: body ? JSON.stringify(body) : undefined,
        });
        // A streamed answer that breaks midway rejects here: that fails the test too.
        const a = await answer(res);
        checkAnswer(a, `${method} ${url} ${JSON.stringify(body) ?? ''}`, opOf(method, url));
      }
    }
  });

  it('a fix dated in the future counts as taken on arrival: it never pins the incident’s location', async () => {
    const sos = await w.sos(driver, { location: { lat: 36.37, lng: -94.2, accuracyM: 5, capturedAt: '9999-12-31T23:59:59Z' } });
    expect(sos.status, JSON.stringify(sos.body)).toBe(201);
    const inc = sos.body.incident;
    expect(Date.parse(inc.location.capturedAt)).toBeLessThanOrEqual(Date.now());
    const later = await t.post(`/v1/incidents/${inc.id}/locations`, { lat: 36.375, lng: -94.205, accuracyM: 4 }, driver.token);
    expect(later.body).toEqual({ accepted: true, current: true });
    const again = await t.post(`/v1/incidents/${inc.id}/locations`, { lat: 36.376, lng: -94.206, capturedAt: new Date(Date.now() + 86_400_000).toISOString() }, driver.token);
    expect(again.body).toEqual({ accepted: true, current: true });
    const now = await t.post(`/v1/incidents/${inc.id}/locations`, { lat: 36.377, lng: -94.207 }, driver.token);
    expect(now.body).toEqual({ accepted: true, current: true });
    expect((await t.get(`/v1/incidents/${inc.id}`, driver.token)).body.incident.location).toMatchObject({ lat: 36.377, lng: -94.207 });
  });
});

describe('PINs', () => {
  it('a PIN in other scripts’ digits (or with spaces, NUL, RTL marks) is a wrong PIN, never a cancel; and no driver is created with one', async () => {
    const pin = '71938264';
    const lookalikes = [
      '٧١٩٣٨٢٦٤', '۷۱۹۳۸۲۶۴', '７１９３８２６４', '𝟕𝟏𝟗𝟑𝟖𝟐𝟔𝟒', '७१९३८२६४', ` ${pin}`, `${pin} `, `${pin}\u0000`, `\u202E${pin}`, `${pin}\u200F`,
      `\uFEFF${pin}`, '71938264'.replace('1', 'l'), '+71938264', '71938264.0', '48261937 ', '٤٨٢٦١٩٣٧',
    ];
    const sos = await w.sos(driver);
    const id = sos.body.incident.id;
    let wrong = 0;
    for (const p of lookalikes.slice(0, 4)) {
      const a = await send({ method: 'POST', url: `/v1/incidents/${id}/cancel`, caller: 'driver', body: { kind: 'pin', data: JSON.stringify({ pin: p }) }, type: 'application/json', headers: {} });
      checkAnswer(a, `cancel with ${JSON.stringify(p)}`, 'POST /v1/incidents/{id}/cancel');
      expect(a.status, p).toBe(403);
      wrong++;
    }
    const [row] = await t.sql<{ status: string; duress_at: Date | null }[]>`SELECT status, duress_at FROM incidents WHERE id = ${id}`;
    expect(row).toEqual({ status: 'open', duress_at: null });
    expect(wrong).toBe(4);
    // (Five wrong PINs lock cancelling: the rest are tried on new drivers' accounts instead.)
    for (const p of lookalikes) {
      const res = await t.post('/v1/drivers', { name: 'P', phone: `+1555${String(Date.now()).slice(-7)}`, cancelPin: p, duressPin: '12345678' }, ADMIN_TOKEN);
      expect(res.status, `${JSON.stringify(p)}: ${JSON.stringify(res.body)}`).toBe(422);
    }
  });
});

// ---------------------------------------------------------------------------------------------
// The Twilio webhooks: a second app, on the real Twilio adapter (msw stands in for Twilio).

describe('the Twilio webhooks, fuzzed', () => {
  const mock = mockTwilio();
  afterEach(() => mock.forget());
  let tw: TestApp;
  let ava: Person;
  let dana: Person;
  let inc: { id: string; code: number };
  let sms: Sent;
  let call: Sent;

  beforeAll(async () => {
    tw = await testApp({ twilio: TWILIO, paging: { backoffBaseMs: 10, backoffCapMs: 20 } });
    const ww = world(tw);
    const zone = await ww.zone('Z', square(36.37, -94.2), { checkInGraceSeconds: 86_400 });
    ava = await ww.responder('supervisor', [zone.id], 'Ava');
    dana = await ww.driver('Dana');
    await ww.responder('safety_lead', [], 'Lee');
    expect((await tw.put(`/v1/zones/${zone.id}/rotation`, { responderIds: [ava.id], shiftMinutes: 600, startsAt: new Date(Date.now() - 60_000).toISOString() }, ww.admin)).status).toBe(200);
    const sos = await ww.sos(dana);
    expect(sos.status).toBe(201);
    inc = sos.body.incident;
    await tw.engine.tick();
    sms = mock.expectSms(ava.phone);
    call = mock.expectCall(ava.phone);
  });

  const HOOKS = ['/webhooks/twilio/sms', '/webhooks/twilio/status', '/webhooks/twilio/voice/status', '/webhooks/twilio/voice/amd', '/webhooks/twilio/voice/gather'];
  const MESSAGE_STATUSES = ['queued', 'sending', 'sent', 'delivered', 'read', 'accepted', 'scheduled'];
  const CALL_STATUSES = ['queued', 'initiated', 'ringing', 'in-progress', 'answered'];

  /** Bodies that must neither acknowledge nor answer a check-in nor open an SOS (an oracle independent of the parser). */
  const inert = (body: string) => {
    const n = body.normalize('NFKC').toUpperCase();
    const letters = n.replace(/[^A-Z]/g, '');
    if (['SAFE', 'HELP', 'SOS'].includes(letters)) return false;
    if (/ACK/.test(n.replace(/\s/g, '')) || n.trim().replace(/\s+/g, '') === '1') return false;
    return true;
  };
  const formValue = fc.oneof(anyString, fc.constantFrom('SM123', `CA${'0'.repeat(32)}`, '+15550100001', '1', '١', '１', ' 1 ', '11', '*', '#', '0', ''));
  const KNOWN_FIELDS = ['From', 'To', 'Body', 'Digits', 'MessageStatus', 'CallStatus', 'AnsweredBy', 'MessageSid', 'CallSid', 'SmsSid', 'ErrorCode', 'AccountSid', 'SmsStatus'];
  const fields = () =>
    fc.tuple(fc.dictionary(anyString.filter((k) => !KNOWN_FIELDS.includes(k)), anyString, { maxKeys: 2 }), fc.record(
      {
        From: fc.oneof(fc.constantFrom(ava.phone, dana.phone, '+15550000000', '', 'anonymous', `${ava.phone}\u0000`, ava.phone.replace('+', '')), anyString),
        To: fc.constantFrom(TWILIO.fromNumber, '', '+1'),
        Body: anyString.filter(inert),
        Digits: formValue.filter((d) => d.trim() !== '1'),
        MessageStatus: fc.oneof(fc.constantFrom(...MESSAGE_STATUSES), anyString),
        CallStatus: fc.oneof(fc.constantFrom(...CALL_STATUSES), anyString),
        AnsweredBy: fc.oneof(fc.constantFrom('human', 'unknown'), anyString.filter((s) => !s.startsWith('machine') && s !== 'fax')),
        MessageSid: formValue,
        CallSid: formValue,
        SmsSid: formValue,
        ErrorCode: fc.oneof(fc.constantFrom('21211', '-1', '1e400', '99999999999999999999'), anyString),
        AccountSid: fc.constantFrom(TWILIO.accountSid, 'AC0', ''),
      },
      { requiredKeys: [] },
    )).map(([extra, known]) => ({ ...extra, ...known }) as Record<string, string>);
  const pageQuery = () => fc.oneof(
    fc.constantFrom(`?page=${sms.pageId}`, `?page=${call.pageId}`, `?page=${sms.pageId.toUpperCase()}`, `?page=${randomUUID()}`, '', '?page=', '?page=x', '?page=%ZZ', `?page=${sms.pageId}&page=${call.pageId}`),
    queryValue.map((v) => `?page=${v}`),
  );
  /** What URLSearchParams makes of the fields on the way (lone surrogates → U+FFFD): what Mayday sees, and what Twilio signs. */
  const asReceived = (f: Record<string, string>) => Object.fromEntries(new URLSearchParams(new URLSearchParams(f).toString()));

  /** Like postSigned (signed as Twilio signs), answering the headers too. */
  async function signedPost(app: TestApp, pathAndQuery: string, params: Record<string, string>): Promise<Answer> {
    const signature = twilio.getExpectedTwilioSignature(TWILIO.authToken, `${PUBLIC_BASE_URL}${pathAndQuery}`, params);
    return answer(await app.app.request(pathAndQuery, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-twilio-signature': signature },
      body: new URLSearchParams(params).toString(),
    }));
  }

  async function state() {
    const [i] = await tw.sql<{ status: string; acknowledged_at: Date | null; severity: string }[]>`SELECT status, acknowledged_at, severity FROM incidents WHERE id = ${inc.id}`;
    const [n] = await tw.sql<{ n: number }[]>`SELECT count(*)::int AS n FROM incidents`;
    const events = await tw.sql<{ type: string }[]>`SELECT type FROM incident_events WHERE incident_id = ${inc.id}`;
    return { incident: i, incidents: n.n, types: new Set(events.map((e) => e.type)) };
  }

  it('unsigned, or signed with another token: 403 (415 when not a form), never handled, never ≥ 500', async () => {
    const before = await state();
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...HOOKS), pageQuery(), fields(), fc.constantFrom('none', 'garbage', 'other-token', 'other-url'), fc.constantFrom('application/x-www-form-urlencoded', 'application/json', 'text/plain', ''), async (hook, q, f, sig, type) => {
        const params = asReceived(f);
        const body = new URLSearchParams(params).toString();
        const headers: Record<string, string> = { 'content-type': type };
        if (sig === 'garbage') headers['x-twilio-signature'] = 'AAAA';
        if (sig === 'other-token') headers['x-twilio-signature'] = twilio.getExpectedTwilioSignature('not-the-auth-token', `${PUBLIC_BASE_URL}${hook}${q}`, params);
        if (sig === 'other-url') headers['x-twilio-signature'] = twilio.getExpectedTwilioSignature(TWILIO.authToken, `https://evil.test${hook}${q}`, params);
        const a = await answer(await tw.app.request(hook + q, { method: 'POST', headers, body }));
        checkAnswer(a, `${hook}${q} ${sig} ${type}: ${body.slice(0, 200)}`, `POST ${hook}`);
        if (a.status < 400) throw new Error(`an unsigned webhook was handled: ${hook}${q} ${sig} ${body.slice(0, 200)} → ${a.status}`);
      }),
      { numRuns: 150 },
    );
    const after = await state();
    expect(after).toEqual(before);
  });

  it('signed garbage (odd From, Body, Digits, statuses, sids): never ≥ 500, and nothing acknowledged, answered, cancelled or opened', async () => {
    const before = await state();
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...HOOKS), pageQuery(), fields(), async (hook, q, f) => {
        const params = asReceived(f);
        checkAnswer(await signedPost(tw, hook + q, params), `${hook}${q} ${JSON.stringify(params).slice(0, 300)}`, `POST ${hook}`);
        const s = await state();
        if (s.incident.status !== 'open' || s.incident.acknowledged_at) throw new Error(`incident changed to ${s.incident.status} by ${hook}${q} ${JSON.stringify(params)}`);
        if (s.incidents !== before.incidents) throw new Error(`a new incident from ${hook}${q} ${JSON.stringify(params)}`);
        for (const t of ['incident.acknowledged', 'checkin.received', 'cancel.requested', 'duress.triggered']) {
          if (s.types.has(t)) throw new Error(`${t} after ${hook}${q} ${JSON.stringify(params)}`);
        }
      }),
      { numRuns: 200 },
    );
    const pages = await tw.sql<{ twilio_status: string | null; channel: string }[]>`SELECT twilio_status, channel FROM pages`;
    for (const p of pages) expect([null, ...MESSAGE_STATUSES, ...CALL_STATUSES, 'undelivered', 'failed', 'canceled', 'completed', 'busy', 'no-answer']).toContain(p.twilio_status);
    // The real grammar still works after all that: Ava's ACK acknowledges.
    expect((await postSigned(tw, '/webhooks/twilio/sms', { From: ava.phone, To: TWILIO.fromNumber, Body: `ACK ${inc.code}`, MessageSid: 'SMfuzzdone' })).text).toContain('acknowledged');
  });

  it('a webhook body over 64 KiB is 413, signed or not', async () => {
    const params = { From: ava.phone, Body: 'x'.repeat(70 * 1024) };
    const signed = await signedPost(tw, '/webhooks/twilio/sms', params);
    checkAnswer(signed, 'big signed webhook', 'POST /webhooks/twilio/sms');
    expect(signed.status).toBe(413);
    const unsigned = await answer(await tw.app.request('/webhooks/twilio/sms', { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(params).toString() }));
    checkAnswer(unsigned, 'big unsigned webhook', 'POST /webhooks/twilio/sms');
    expect(unsigned.status).toBe(413);
  });
});
