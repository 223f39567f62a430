import { z } from '@hono/zod-openapi';

/**
 * Every event type the database accepts (the domain event_type's check, sql/019): the timeline
 * returns whatever is stored, so the published enum must be this whole list.
 * test/openapi.test.ts compares the two.
 */
export const EVENT_TYPES = [
  'incident.opened', 'incident.duplicate_request', 'incident.linked', 'location.updated',
  'page.queued', 'page.sent', 'page.delivered', 'page.failed', 'page.voicemail', 'page.unknown',
  'page.resent',
  'escalation.step', 'escalation.exhausted', 'incident.acknowledged',
  'checkin.requested', 'checkin.received', 'checkin.missed',
  'cancel.requested', 'cancel.rejected', 'cancel.locked', 'duress.triggered',
  'incident.severity_raised', 'incident.resolved', 'location.redacted',
  'support.linked', 'notice.queued', 'simulator.action',
  'incident.details',
  'dispatch.requested', 'dispatch.created', 'dispatch.psap_contacted', 'dispatch.closed', 'dispatch.canceled', 'dispatch.failed', 'dispatch.location_failed',
] as const;
export type EventType = (typeof EVENT_TYPES)[number];

export const TimelineEventSchema = z
  .object({
    seq: z.number().int(),
    type: z.enum(EVENT_TYPES),
    at: z.string().openapi({ description: 'Database time, ISO 8601 with milliseconds.' }),
    actor: z.string().openapi({ description: '"system", "admin", "twilio", "noonlight", "dispatch_center" (the simulator) or "<role>:<id>".' }),
    data: z.record(z.string(), z.unknown()),
    prevHash: z.string(),
    hash: z.string(),
  })
  .openapi('TimelineEvent');
export type TimelineEvent = z.infer<typeof TimelineEventSchema>;

export const TimelineSchema = z.object({ incidentId: z.uuid(), events: z.array(TimelineEventSchema) }).openapi('Timeline');
export const VerifySchema = z
  .object({ valid: z.boolean(), eventCount: z.number().int(), headHash: z.string().nullable() })
  .openapi('TimelineVerification');
