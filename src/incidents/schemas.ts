import { z } from '@hono/zod-openapi';

export const KINDS = ['robbery', 'shooting', 'assault', 'harassment', 'crash', 'medical', 'other'] as const;
export type Kind = (typeof KINDS)[number];
export const STATUSES = ['open', 'acknowledged', 'cancel_requested', 'resolved'] as const;
export type Status = (typeof STATUSES)[number];
export const DISPOSITIONS = ['resolved_safe', 'police_dispatched', 'medical_dispatched', 'false_alarm', 'driver_cancelled', 'duplicate', 'other'] as const;
export const SEVERITIES = ['critical', 'high', 'medium'] as const;
export type Severity = (typeof SEVERITIES)[number];

/** Violence against the driver comes first. */
export const SEVERITY_OF_KIND: Record<Kind, Severity> = {
  shooting: 'critical',
  robbery: 'critical',
  assault: 'critical',
  crash: 'high',
  medical: 'high',
  harassment: 'medium',
  other: 'medium',
};

export const LocationInput = z
  .strictObject({
    lat: z.number().min(-90).max(90),
    lng: z.number().min(-180).max(180),
    accuracyM: z.number().min(0).max(1_000_000).optional(),
    capturedAt: z.iso.datetime({ offset: true }).optional().openapi({ description: 'When the device took the fix; default: when Mayday received it.' }),
  })
  .openapi('LocationInput');
export type LocationInput = z.infer<typeof LocationInput>;

export const SosBody = z
  .strictObject({
    clientRequestId: z.uuid().openapi({ description: 'One per emergency; retries of the same press reuse it.' }),
    kind: z.enum(KINDS),
    location: LocationInput.optional().openapi({
      description: 'The fix the phone has. Without one, the SOS opens at the driver’s last known fix (as an SOS by text message does), or with no location when Mayday has none.',
    }),
    note: z.string().max(2000).optional(),
  })
  .openapi('Sos');

export const IncidentSchema = z
  .object({
    id: z.uuid(),
    code: z.number().int().openapi({ description: 'Short number quoted by pages ("Reply ACK 1042").' }),
    status: z.enum(STATUSES),
    kind: z.enum(KINDS),
    severity: z.enum(SEVERITIES),
    driverId: z.uuid(),
    zoneId: z.uuid().nullable(),
    zoneRule: z.enum(['inside', 'fallback', 'nearest', 'none']).openapi({ description: 'How the zone was chosen.' }),
    source: z.enum(['app', 'sms', 'support']),
    note: z.string().nullable(),
    openedAt: z.string(),
    location: z
      .object({ lat: z.number(), lng: z.number(), accuracyM: z.number().nullable(), capturedAt: z.string() })
      .nullable()
      .openapi({ description: 'The latest fix; null only for an SOS without a location (by text message, or from the app before the phone had a fix) from a driver whose location Mayday never had.' }),
    acknowledgedAt: z.string().nullable(),
    acknowledgedBy: z.uuid().nullable(),
    resolvedAt: z.string().nullable(),
    disposition: z.enum(DISPOSITIONS).nullable(),
    checkInDueAt: z.string().nullable().openapi({ description: 'A check-in is awaited from the driver until then (reply SAFE or HELP).' }),
  })
  .openapi('Incident');
export type Incident = z.infer<typeof IncidentSchema>;

export const IncidentEnvelope = z.object({ incident: IncidentSchema }).openapi('IncidentEnvelope');

export const ListIncidentsQuery = z.object({
  status: z.enum(['active', ...STATUSES]).optional().openapi({ description: 'active = anything not resolved.' }),
  limit: z.coerce.number().int().min(1).max(500).default(100),
});
