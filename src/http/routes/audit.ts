import { createRoute, z } from '@hono/zod-openapi';
import { openExport } from '../../audit/export';
import { CSV_COLUMNS } from '../../audit/formats';
import { verifyRange } from '../../audit/verify';
import {
  AuditKeysSchema, AuditLogQuery, AuditLogSchema, ExportCheckpointLineSchema, ExportIncidentSchema, ExportQuery, LegalHoldBody, LegalHoldSchema, RangeQuery,
  ReportQuery, ResponseTimesSchema, VerifyRangeSchema,
} from '../../audit/schemas';
import { listAudit, recordAudit, responseTimes, setLegalHold } from '../../audit/store';
import { actorOf } from '../../auth/principal';
import { notFound } from '../../errors';
import { ErrorBody } from '../errors';
import { allow, principal } from '../middleware';
import { bearer, errors, IdParam, json, notFoundError, router } from '../openapi';

const app = router();
const tags = ['safety team'];
/** Auditors read everything; safety leads and the admin may too. Drivers, supervisors and agents may not. */
const READERS = ['auditor', 'safety_lead', 'admin'] as const;
/** The only change an auditor can make. */
const HOLDERS = ['auditor', 'admin'] as const;

const stamp = (d: Date) => d.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
const tooMany = { 429: json(ErrorBody, `Too many exports running at once (at most 2 per instance); retry later`) } as const;

app.openapi(
  createRoute({
    operationId: 'exportAudit', method: 'get', path: '/v1/audit/export', tags, security: bearer, request: { query: ExportQuery },
    summary: 'Export the incidents opened in a range, each with its whole timeline and hash chain',
    description: [
      'Streamed in constant memory from one consistent snapshot, incidents oldest first (`from` inclusive, `to` exclusive). ',
      'Every export is recorded in the audit log (who, which range, which format) before the first byte. ',
      'Answers as an attachment. An export that fails midway is cut short (no terminating chunk): a client sees an incomplete transfer, never a silently truncated file.\n\n',
      '- `ndjson`: one line per incident, `{incident, locations, events, headHash, checkpointed}` (schema below); then one `{"checkpoint": …}` line per signed checkpoint from the first that covered an exported timeline to the newest, and a last `{"keys": […]}` line. `npm run verify:export -- file --keys keys.json` checks all of it offline with the public keys alone.\n',
      `- \`csv\`: a header row \`${CSV_COLUMNS.join(',')}\`, then one row per timeline event; RFC 4180 quoting, CRLF, UTF-8. \`summary\` is a sentence starting with fixed words; \`data\` is the event's data as JSON.\n`,
      '- `geojson`: one RFC 7946 FeatureCollection ([lng, lat], at most 7 decimals): per incident a Point at its opening location and, with two fixes or more, a LineString of its trail; properties id, code, kind, severity, status, openedAt, acknowledgedAt, resolvedAt, disposition, `feature` ("opening" or "trail").\n',
      '- `eido`: a JSON array (streamed element by element) of NENA EIDO-style objects: incidentComponent with the i3 incident tracking URN (`urn:emergency:uid:incidentid:<id>:<domain>`), type, status, priority (0-10) and disposition; locationComponent with the opening and latest fix by value as PIDF-LO (circle of the accuracy, timestamp); notesComponent with the driver\'s note and every timeline event at its own time.\n\n',
      'Coarsened (retention) coordinates come out as stored, 0.01°, with an accuracy of at least 786 m.',
    ].join(''),
    responses: {
      200: {
        description: 'The export, streamed',
        headers: z.object({ 'Content-Disposition': z.string().openapi({ example: 'attachment; filename="mayday-audit-20261101T000000Z-20261201T000000Z.ndjson"' }) }),
        content: {
          'application/x-ndjson': { schema: z.union([ExportIncidentSchema, ExportCheckpointLineSchema]) },
          'text/csv': { schema: z.string().openapi({ example: `${CSV_COLUMNS.join(',')}\r\n` }) },
          'application/geo+json': {
            schema: z.object({ type: z.literal('FeatureCollection'), features: z.array(z.record(z.string(), z.unknown())) }).openapi('AuditGeoJson'),
          },
          'application/json': { schema: z.array(z.record(z.string(), z.unknown())).openapi('AuditEido', { description: 'EIDO objects, one per incident' }) },
        },
      },
      ...errors,
      ...tooMany,
    },
    middleware: [allow(...READERS)] as const,
  }),
  async (c) => {
    const p = principal(c);
    const q = c.req.valid('query');
    const deps = c.get('deps');
    const range = { from: q.from, to: q.to };
    const { stream, writer } = await openExport(deps.sql, { range, format: q.format, domain: new URL(deps.publicBaseUrl).hostname, log: c.get('log'), keys: (await deps.keyring)?.trusted, yieldTo: exportYield(deps) });
    // The audit of the audit: recorded once the export may run (not when refused), before any byte of it is read.
    try {
      await recordAudit(deps.sql, actorOf(p), 'export', { from: q.from.toISOString(), to: q.to.toISOString(), format: q.format, requestId: c.get('requestId') });
    } catch (e) {
      await stream.cancel();
      throw e;
    }
    c.get('log').info({ format: q.format, from: q.from, to: q.to }, 'audit export started');
    return c.body(stream, 200, {
      'Content-Type': writer.contentType,
      'Content-Disposition': `attachment; filename="mayday-audit-${stamp(q.from)}-${stamp(q.to)}.${writer.extension}"`,
      'Cache-Control': 'no-store',
      'X-Content-Type-Options': 'nosniff',
    }) as never;
  },
);

app.openapi(
  createRoute({
    operationId: 'verifyAudit', method: 'get', path: '/v1/audit/verify', tags, security: bearer, request: { query: RangeQuery },
    summary: 'Recompute the hash chain of every timeline opened in a range',
    description: 'One set-based pass in the database. `broken` lists every incident whose chain does not verify (an event altered, removed or reordered, a head that does not match, no timeline at all), whose row disagrees with its events, whose checkpointed events are gone or changed, or whose trail no longer matches the digests its events recorded. `checkpoints` is the chain of signed checkpoints from the first that covered any of them to the newest. Recorded in the audit log.',
    responses: { 200: json(VerifyRangeSchema, 'The verdict'), ...errors },
    middleware: [allow(...READERS)] as const,
  }),
  async (c) => {
    const p = principal(c);
    const q = c.req.valid('query');
    const deps = c.get('deps');
    const result = await verifyRange(deps.sql, { from: q.from, to: q.to }, await deps.keyring);
    await recordAudit(deps.sql, actorOf(p), 'verify', { from: q.from.toISOString(), to: q.to.toISOString(), checked: result.checked, broken: result.broken.length });
    if (!result.valid) c.get('log').warn({ broken: result.broken.length, checked: result.checked }, 'audit verify found broken timelines');
    return c.json(result, 200);
  },
);

app.openapi(
  createRoute({
    operationId: 'listAuditKeys', method: 'get', path: '/v1/audit/keys', tags, security: bearer,
    summary: 'The public keys that sign timeline checkpoints',
    description: 'Ed25519 public keys (raw, base64) with their ids (`ed25519:` and the first 32 hex digits of the key\'s sha256): the current signing key, then older ones this instance still trusts (AUDIT_PREVIOUS_PUBLIC_KEYS). Keep a copy obtained independently of any export: the offline verifier (`npm run verify:export`) checks checkpoints against the keys you give it.',
    responses: { 200: json(AuditKeysSchema, 'The keys'), ...errors },
    middleware: [allow(...READERS)] as const,
  }),
  async (c) => {
    const keyring = await c.get('deps').keyring;
    const keys = (keyring?.trusted ?? []).map((k) => ({ keyId: k.keyId, algorithm: 'Ed25519' as const, publicKey: k.publicKey, current: k.keyId === keyring?.current.keyId }));
    return c.json({ keys }, 200);
  },
);

app.openapi(
  createRoute({
    operationId: 'getResponseTimes', method: 'get', path: '/v1/reports/response-times', tags, security: bearer, request: { query: ReportQuery },
    summary: 'Response-time percentiles by zone and kind, and the incidents that breached the target',
    description: 'For the incidents opened in the range, grouped by zone and kind (and `overall`): count, p50, p90 and p99 (continuous) of seconds from opening to the first page sent to a responder (when Twilio took it: the takenAt of page.sent), the first delivery, the acknowledgement and the resolution, all from the timelines\' events, computed in the database. Recorded in the audit log.',
    responses: { 200: json(ResponseTimesSchema, 'The report'), ...errors },
    middleware: [allow(...READERS)] as const,
  }),
  async (c) => {
    const p = principal(c);
    const q = c.req.valid('query');
    const deps = c.get('deps');
    const report = await responseTimes(deps.sql, { from: q.from, to: q.to }, q.targetSeconds);
    await recordAudit(deps.sql, actorOf(p), 'report', { report: 'response-times', from: q.from.toISOString(), to: q.to.toISOString(), targetSeconds: q.targetSeconds });
    return c.json(report, 200);
  },
);

app.openapi(
  createRoute({
    operationId: 'getAuditLog', method: 'get', path: '/v1/audit/log', tags, security: bearer, request: { query: AuditLogQuery },
    summary: 'The audit log: exports, verifications, reports, legal holds and retention runs',
    description: 'Entries written in the range, oldest first, at most `limit`; with the whole log\'s hash chain recomputed.',
    responses: { 200: json(AuditLogSchema, 'Entries'), ...errors },
    middleware: [allow(...READERS)] as const,
  }),
  async (c) => {
    const q = c.req.valid('query');
    return c.json(await listAudit(c.get('deps').sql, { from: q.from, to: q.to }, q.limit), 200);
  },
);

app.openapi(
  createRoute({
    operationId: 'placeLegalHold', method: 'post', path: '/v1/incidents/{id}/legal-hold', tags, security: bearer,
    request: { params: IdParam, body: { content: { 'application/json': { schema: LegalHoldBody } }, required: false } },
    summary: 'Place a legal hold: retention keeps this incident’s precise coordinates',
    description: 'The body is optional. Idempotent: a hold already in place is kept as it was. A hold cannot restore coordinates retention has already coarsened (see coarsenedAt). Recorded in the audit log.',
    responses: { 200: json(LegalHoldSchema, 'The hold as it now stands'), ...errors, ...notFoundError },
    middleware: [allow(...HOLDERS)] as const,
  }),
  async (c) => {
    const p = principal(c);
    const { id } = c.req.valid('param');
    const body = c.req.valid('json');
    const hold = await setLegalHold(c.get('deps').sql, id, true, actorOf(p), body.reason ?? null);
    if (!hold) throw notFound('incident');
    c.get('log').info({ incidentId: id }, 'legal hold placed');
    return c.json(hold, 200);
  },
);

app.openapi(
  createRoute({
    operationId: 'releaseLegalHold', method: 'delete', path: '/v1/incidents/{id}/legal-hold', tags, security: bearer, request: { params: IdParam },
    summary: 'Release a legal hold',
    description: 'Retention may coarsen the incident on its next run. Recorded in the audit log.',
    responses: { 200: json(LegalHoldSchema, 'The hold as it now stands'), ...errors, ...notFoundError },
    middleware: [allow(...HOLDERS)] as const,
  }),
  async (c) => {
    const p = principal(c);
    const { id } = c.req.valid('param');
    const hold = await setLegalHold(c.get('deps').sql, id, false, actorOf(p), null);
    if (!hold) throw notFound('incident');
    c.get('log').info({ incidentId: id }, 'legal hold released');
    return c.json(hold, 200);
  },
);

/**
 * An export gives way to SOS intake before each batch it reads (Pager.intakeQuiet), but at most
 * 10 s over the whole export: it holds a snapshot, which keeps vacuum from the tables an SOS writes.
 */
function exportYield(deps: { pager: { intakeQuiet(maxMs?: number): Promise<void> } }): () => Promise<void> {
  let left = 10_000;
  return async () => {
    if (left <= 0) return;
    const t = performance.now();
    await deps.pager.intakeQuiet(Math.min(left, 250));
    left -= performance.now() - t;
  };
}

export default app;
