import { z } from '@hono/zod-openapi';
import { EscalationPolicySchema } from '../escalation/policy';

const lng = z.number().min(-180).max(180);
const lat = z.number().min(-90).max(90);
/**
 * [lng, lat] (RFC 7946 order), an optional altitude ignored. One tuple (not a union of two) so
 * that a bad position is reported at its own path, e.g. `boundary.coordinates.0.0`; the bounds
 * are stated for the document, which does not infer them from an optional last element.
 */
const position = z
  .tuple([lng, lat], z.number())
  .refine((p) => p.length <= 3, 'a position is [lng, lat] or [lng, lat, altitude]')
  .openapi({ minItems: 2, maxItems: 3, items: { type: 'number' }, description: '[lng, lat] or [lng, lat, altitude]' });
const ring = z
  .array(position)
  .min(4, 'a linear ring needs at least 4 positions')
  .refine((r) => r[0][0] === r[r.length - 1][0] && r[0][1] === r[r.length - 1][1], 'a linear ring must end where it starts');

export const PolygonSchema = z
  .object({
    type: z.literal('Polygon'),
    coordinates: z.array(ring).min(1, 'a polygon needs an outer ring'),
  })
  .openapi('GeoJSONPolygon', { description: 'GeoJSON Polygon, positions in [lng, lat] order; rings after the first are holes.' });
export type Polygon = z.infer<typeof PolygonSchema>;

const zoneSettings = {
  checkInSeconds: z.number().int().min(5).max(86_400).optional().openapi({ description: 'Interval between check-ins asked of the driver (default 300).' }),
  checkInGraceSeconds: z.number().int().min(0).max(86_400).optional().openapi({ description: 'How long a check-in may go unanswered (default 120).' }),
  readinessGraceSeconds: z.number().int().min(5).max(86_400).optional().openapi({ description: 'How long the responder coming on call has to reply OK before the zone’s safety leads are paged (default 600).' }),
};

/** Told apart by `fallback`, so that an invalid zone is reported at the field that is wrong. */
export const CreateZoneBody = z
  .discriminatedUnion('fallback', [
    z.strictObject({ name: z.string().trim().min(1).max(200), boundary: PolygonSchema, fallback: z.literal(false).optional(), ...zoneSettings }),
    z.strictObject({ name: z.string().trim().min(1).max(200), fallback: z.literal(true), ...zoneSettings }),
  ])
  .openapi('CreateZone');
export type CreateZone = z.infer<typeof CreateZoneBody>;

export const ZoneSchema = z
  .object({
    id: z.uuid(),
    name: z.string(),
    fallback: z.boolean(),
    // A union with null, not .nullable(): the generator would make the shared component nullable.
    boundary: z.union([PolygonSchema, z.null()]).openapi({ description: 'null for the fallback zone.' }),
    checkInSeconds: z.number().int(),
    checkInGraceSeconds: z.number().int(),
    readinessGraceSeconds: z.number().int(),
    escalationPolicy: z.union([EscalationPolicySchema, z.null()]).openapi({ description: 'null: the default policy applies.' }),
    createdAt: z.string(),
  })
  .openapi('Zone');
export type Zone = z.infer<typeof ZoneSchema>;

export const RotationBody = z
  .strictObject({
    responderIds: z.array(z.uuid()).min(1).max(100),
    shiftMinutes: z.number().int().min(1).max(60 * 24 * 31),
    startsAt: z.iso.datetime({ offset: true }),
  })
  .openapi('Rotation');

export const OverrideBody = z
  .strictObject({ responderId: z.uuid(), from: z.iso.datetime({ offset: true }), to: z.iso.datetime({ offset: true }) })
  .refine((o) => Date.parse(o.to) > Date.parse(o.from), { message: 'to must be after from', path: ['to'] })
  .openapi('CreateOverride');
