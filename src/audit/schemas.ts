import { z } from '@hono/zod-openapi';
import { DISPOSITIONS, KINDS, SEVERITIES, STATUSES } from '../incidents/schemas';
import { CheckpointSchema } from '../timeline/checkpoint-schemas';
import { TimelineEventSchema } from '../timeline/schemas';
import { CheckpointStatusSchema } from '../timeline/verification';

/** An instant: ISO 8601 with a time and an offset, or a bare date (midnight UTC). */
const Instant = z
  .union([z.iso.datetime({ offset: true }), z.iso.date()])
  .transform((s) => new Date(/^\d{4}-\d{2}-\d{2}$/.test(s) ? `${s}T00:00:00Z` : s))
  .refine((d) => !Number.isNaN(d.getTime()), 'not a valid instant')
  // In UTC, within what PostgreSQL reads back: an offset can push 0001 or 9999 out of it, and the
  // export answers 200 before its first query, so the database cannot be the one to refuse it.
  .refine((d) => d.getUTCFullYear() >= 1 && d.getUTCFullYear() <= 9999, 'must fall between the years 0001 and 9999 (UTC)');

const range = {
  from: Instant.openapi({ description: 'Start of the range, inclusive: ISO 8601 (`2026-11-01T00:00:00Z`) or a date (midnight UTC).', example: '2026-11-01T00:00:00Z' }),
  to: Instant.openapi({ description: 'End of the range, exclusive; must be after `from`.', example: '2026-12-01T00:00:00Z' }),
};
const toAfterFrom: [(q: { from: Date; to: Date }) => boolean, { message: string; path: string[] }] = [
  (q) => q.to.getTime() > q.from.getTime(),
  { message: '`to` must be after `from`', path: ['to'] },
];

export const EXPORT_FORMATS = ['ndjson', 'csv', 'geojson', 'eido'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

export const ExportQuery = z
  .object({ ...range, format: z.enum(EXPORT_FORMATS).default('ndjson').openapi({ description: 'Default ndjson.' }) })
  .refine(...toAfterFrom);
export const RangeQuery = z.object(range).refine(...toAfterFrom);
export const ReportQuery = z.object({
  ...range,
  targetSeconds: z.coerce.number().int().min(1).max(86_400).default(60).openapi({
    description: 'An incident breaches the target when it was acknowledged later than this many seconds after it opened, or was not acknowledged at all while more than this many seconds passed (before its resolution, or until now). Default 60.',
  }),
}).refine(...toAfterFrom);
export const AuditLogQuery = z
  .object({ ...range, limit: z.coerce.number().int().min(1).max(10_000).default(1000) })
  .refine(...toAfterFrom);

/** One point of an incident's location trail, as the audit export gives it. */
export const ExportLocationSchema = z
  .object({
    id: z.number().int().openapi({ description: 'The `location.id` that timeline events refer to.' }),
    lat: z.number(),
    lng: z.number(),
    accuracyM: z.number().nullable().openapi({ description: 'As reported by the device; once coarsened, at least 786 m (half the diagonal of a 0.01° cell).' }),
    capturedAt: z.string(),
    coarsened: z.boolean().openapi({ description: 'Rounded to 0.01° by retention.' }),
  })
  .openapi('AuditLocation');

export const ExportIncidentSchema = z
  .object({
    incident: z.object({
      id: z.uuid(),
      code: z.number().int(),
      status: z.enum(STATUSES),
      kind: z.enum(KINDS),
      severity: z.enum(SEVERITIES),
      driverId: z.uuid(),
      zoneId: z.uuid().nullable(),
      zoneName: z.string().nullable(),
      source: z.string(),
      note: z.string().nullable(),
      openedAt: z.string(),
      acknowledgedAt: z.string().nullable(),
      acknowledgedBy: z.uuid().nullable(),
      resolvedAt: z.string().nullable(),
      resolvedBy: z.uuid().nullable(),
      disposition: z.enum(DISPOSITIONS).nullable(),
      resolutionNote: z.string().nullable(),
      duressAt: z.string().nullable(),
      legalHold: z.boolean(),
      coarsenedAt: z.string().nullable(),
    }),
    locations: z.array(ExportLocationSchema).openapi({ description: 'The trail, in the order the fixes were taken; the first stored is the opening location.' }),
    events: z.array(TimelineEventSchema).openapi({ description: 'The whole timeline with its hash chain, oldest first.' }),
    headHash: z.string().nullable(),
    checkpointed: z
      .array(z.object({ seq: z.number().int(), hash: z.string(), checkpointSeq: z.number().int() }))
      .openapi({ description: 'The heads of this timeline that signed checkpoints covered (the checkpoints follow the incidents).' }),
  })
  .openapi('AuditExportLine', { description: 'One line of the ndjson export: an incident with its trail and its whole timeline.' });

export const VerifyRangeSchema = z
  .object({
    valid: z.boolean(),
    checked: z.number().int().openapi({ description: 'Incidents opened in the range, every one checked.' }),
    broken: z.array(z.uuid()).openapi({ description: 'Incidents whose timeline does not verify, oldest first.' }),
    problems: z
      .array(z.object({
        incidentId: z.uuid(),
        problem: z.enum(['chain', 'row', 'checkpoint', 'location']),
        locationId: z.number().int().optional(),
        columns: z.array(z.string()).optional().openapi({ description: '`row`: the columns that disagree with the events.' }),
        seqs: z.array(z.number().int()).optional().openapi({ description: '`checkpoint`: the checkpointed events that are gone or changed.' }),
      }))
      .openapi({
        description: '`chain`: an event was altered, removed or reordered, or the incident has no timeline at all. `row`: the incident row says something its events do not (e.g. another `acknowledged_by`). `checkpoint`: an event a signed checkpoint covered is gone or has another hash (a rewrite or a truncation, even with every hash recomputed). `location`: a trail point whose salt is still kept no longer matches the digest its event recorded (its coordinates were altered).',
      }),
    checkpoints: CheckpointStatusSchema,
  })
  .openapi('AuditVerification');

const Percentiles = z
  .object({
    count: z.number().int().openapi({ description: 'Incidents for which this moment happened.' }),
    p50: z.number().nullable(),
    p90: z.number().nullable(),
    p99: z.number().nullable(),
  })
  .openapi('ResponsePercentiles', { description: 'Seconds from the incident’s opening (continuous percentiles, null without data).' });

const Measures = {
  incidents: z.number().int(),
  firstPageSent: Percentiles.openapi({ description: 'To the first page to a responder accepted by Twilio (check-in and notice messages do not count).' }),
  firstDelivery: Percentiles,
  acknowledgement: Percentiles,
  resolution: Percentiles,
  dispatchRequested: Percentiles.openapi({ description: 'To the first request for emergency dispatch (incidents with none are not counted).' }),
  psapContacted: Percentiles.openapi({ description: 'To the dispatcher’s first call to the 911 centre, at the dispatch center’s event time (incidents with none are not counted).' }),
  breachCount: z.number().int(),
};

export const BreachSchema = z
  .object({
    incidentId: z.uuid(),
    code: z.number().int(),
    ackSeconds: z.number().nullable().openapi({ description: 'null: never acknowledged (resolved without, or still waiting) after more than targetSeconds.' }),
  })
  .openapi('ResponseBreach');

export const REPORT_BREACH_LIMIT = 1000;

export const ResponseTimesSchema = z
  .object({
    from: z.string(),
    to: z.string(),
    targetSeconds: z.number().int(),
    overall: z.object(Measures),
    groups: z.array(
      z.object({
        zoneId: z.uuid().nullable(),
        zoneName: z.string().nullable(),
        kind: z.enum(KINDS),
        ...Measures,
        breaches: z.array(BreachSchema).openapi({ description: `The incidents that breached the target, slowest first (never acknowledged first); at most ${REPORT_BREACH_LIMIT} per group (breachCount has them all).` }),
      }),
    ),
  })
  .openapi('ResponseTimes');

export const LegalHoldBody = z
  .strictObject({ reason: z.string().min(1).max(500).optional().openapi({ description: 'A matter or case reference.' }) })
  .openapi('LegalHoldRequest');

export const LegalHoldSchema = z
  .object({
    incidentId: z.uuid(),
    legalHold: z.boolean(),
    since: z.string().nullable(),
    by: z.string().nullable(),
    reason: z.string().nullable(),
    coarsenedAt: z.string().nullable().openapi({ description: 'Set when retention had already coarsened the coordinates before the hold: a hold keeps what is left, it cannot restore them.' }),
  })
  .openapi('LegalHold');

export const AuditLogSchema = z
  .object({
    entries: z.array(
      z.object({
        seq: z.number().int(),
        at: z.string(),
        actor: z.string(),
        action: z.enum(['export', 'verify', 'report', 'legal_hold', 'legal_hold_release', 'retention', 'enrollment', 'device_revoked']),
        params: z.record(z.string(), z.unknown()),
        prevHash: z.string(),
        hash: z.string(),
      }),
    ),
    chain: z.object({ valid: z.boolean(), entryCount: z.number().int(), headHash: z.string().nullable() }).openapi({ description: 'The whole audit log’s hash chain, recomputed.' }),
  })
  .openapi('AuditLog');

export const ExportCheckpointLineSchema = z
  .object({ checkpoint: CheckpointSchema })
  .openapi('AuditExportCheckpointLine', {
    description: 'After the incidents, one line per signed checkpoint from the first that covered an exported timeline to the newest, each with every head it covered; then one `{"keys": [...]}` line, the public keys the service knew (check them against keys you obtained yourself).',
  });

export const AuditKeysSchema = z
  .object({
    keys: z.array(z.object({
      keyId: z.string().openapi({ example: 'ed25519:3f1c0a9b2d4e5f60718293a4b5c6d7e8' }),
      algorithm: z.literal('Ed25519'),
      publicKey: z.string().openapi({ description: 'The raw 32-byte public key, base64.' }),
      current: z.boolean().openapi({ description: 'The key new checkpoints are signed with.' }),
    })),
  })
  .openapi('AuditKeys');
