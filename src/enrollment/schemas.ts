/**
 * What the driver app's API says: enrollment codes, device tokens, the driver's own profile and
 * the app's view of an incident. The OpenAPI document is generated from these.
 */
import { z } from '@hono/zod-openapi';
import { LANGUAGES, type Language } from '../i18n/catalogue';
import { DISPATCH_STATUSES, SERVICES } from '../dispatch/store';
import { KINDS, SosBody, STATUSES } from '../incidents/schemas';

export type { Language };

/** How long an enrollment code may be exchanged. */
export const ENROLLMENT_SECONDS = 15 * 60;

export const EnrollmentSchema = z
  .object({
    code: z.string().openapi({ description: 'Single use, valid 15 minutes; shown once (only its SHA-256 is stored).' }),
    url: z.string().openapi({ description: '`PUBLIC_BASE_URL/app/enroll#<code>`: the code in the fragment, which a browser never sends to a server.' }),
    expiresAt: z.string(),
  })
  .openapi('Enrollment');

export const EnrollBody = z
  .strictObject({ code: z.string().min(1).max(200).openapi({ description: 'The code from the enrollment link (after the #).' }) })
  .openapi('Enroll');

export const AppDriverSchema = z.object({ id: z.uuid(), name: z.string(), language: z.enum(LANGUAGES) }).openapi('AppDriver');
export type AppDriver = z.infer<typeof AppDriverSchema>;

export const EnrolledSchema = z
  .object({
    token: z.string().openapi({ description: 'A device token with the driver role (shown once); POST /v1/app/sign-out or an admin revokes it.' }),
    driver: AppDriverSchema,
  })
  .openapi('Enrolled');

export const DeviceSchema = z
  .object({
    id: z.uuid().openapi({ description: 'The enrollment that gave the device its token.' }),
    createdAt: z.string().openapi({ description: 'When the enrollment code was made.' }),
    enrolledAt: z.string().openapi({ description: 'When the device exchanged it for its token.' }),
    revokedAt: z.string().nullable().openapi({ description: 'When the device was signed out; null while it is signed in.' }),
  })
  .openapi('Device');
export type Device = z.infer<typeof DeviceSchema>;

export const AppMeSchema = z
  .object({
    driver: AppDriverSchema,
    textSosTo: z.string().nullable().openapi({ description: 'The number to text SOS to (TWILIO_FROM_NUMBER); null without Twilio.' }),
    openIncidentIds: z.array(z.uuid()).openapi({ description: 'The driver’s incidents not resolved and not cancelled, newest first.' }),
  })
  .openapi('AppMe');
export type AppMe = z.infer<typeof AppMeSchema>;

export const AppMePatch = z.strictObject({ language: z.enum(LANGUAGES) }).openapi('AppMePatch');

export const APP_STATES = ['paging', 'acknowledged', 'cancelled', 'resolved'] as const;

export const AppIncidentSchema = z
  .object({
    incident: z.object({ id: z.uuid(), code: z.number().int(), status: z.enum(STATUSES), kind: z.enum(KINDS), openedAt: z.string() }),
    state: z.enum(APP_STATES).openapi({ description: 'What the app shows. After a cancel with either PIN: cancelled, for good.' }),
    pagedAt: z.string().nullable().openapi({ description: 'When the first page to a responder was sent.' }),
    acknowledgedBy: z.string().nullable().openapi({ description: 'The name of the responder who acknowledged.' }),
    acknowledgedAt: z.string().nullable(),
    checkIn: z
      .object({ seq: z.number().int(), dueAt: z.string() })
      .nullable()
      .openapi({ description: 'A check-in Mayday asked and the driver has not answered yet (POST /v1/incidents/{id}/check-ins).' }),
    dispatch: z
      .object({
        status: z.enum(DISPATCH_STATUSES), services: z.array(z.enum(SERVICES)), requestedAt: z.string(),
        psapContactedAt: z.string().nullable().openapi({ description: 'When the dispatcher contacted the 911 centre ("Police requested" until then).' }),
      })
      .nullable()
      .openapi({ description: 'The newest emergency dispatch a responder requested for the incident, or null; null too once the driver cancelled (either PIN).' }),
    location: z.object({ at: z.string() }).nullable().openapi({ description: 'When the newest fix Mayday has was taken.' }),
  })
  .openapi('AppIncident');
export type AppIncident = z.infer<typeof AppIncidentSchema>;

export const DetailsBody = z
  .strictObject({ kind: z.enum(KINDS).optional(), note: SosBody.shape.note })
  .refine((b) => b.kind !== undefined || b.note !== undefined, { message: 'give kind, note or both' })
  .openapi('IncidentDetails');
export type DetailsInput = z.infer<typeof DetailsBody>;
