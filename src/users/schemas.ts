import { z } from '@hono/zod-openapi';
import { LANGUAGES } from '../i18n/catalogue';

export const Phone = z
  .string()
  .regex(/^\+[1-9][0-9]{6,14}$/, 'must be an E.164 number such as +15550100123')
  .openapi({ example: '+15550100123' });
const Name = z.string().trim().min(1).max(200);
/** ASCII digits only: a PIN typed on another script's digits is not silently accepted as something else. */
const Pin = z.string().regex(/^[0-9]{4,8}$/, 'must be 4 to 8 digits');
/** The language Mayday writes and speaks to the person in: SMS and voice pages, check-ins, help texts, the driver app. */
export const LanguageSchema = z
  .enum(LANGUAGES)
  .openapi({ description: 'The language Mayday writes and speaks to this person in (SMS, voice, the driver app): English or Spanish.', example: 'es' });

export const CreateResponderBody = z
  .strictObject({
    name: Name, phone: Phone, role: z.enum(['supervisor', 'safety_lead']), zoneIds: z.array(z.uuid()).max(200).default([]),
    language: LanguageSchema.default('en'),
  })
  .openapi('CreateResponder');

export const CreateDriverBody = z
  .strictObject({ name: Name, phone: Phone, cancelPin: Pin, duressPin: Pin, language: LanguageSchema.default('en') })
  .refine((d) => d.cancelPin !== d.duressPin, { message: 'cancelPin and duressPin must differ', path: ['duressPin'] })
  .openapi('CreateDriver');

export const CreateAuditorBody = z.strictObject({ name: Name }).openapi('CreateAuditor');
export const CreateAgentBody = z.strictObject({ name: Name, tier: z.union([z.literal(1), z.literal(2), z.literal(3)]) }).openapi('CreateAgent');

const token = z.string().openapi({ description: 'Bearer token, shown this once; only its hash is kept.' });

export const ResponderSchema = z
  .object({
    id: z.uuid(), name: z.string(), phone: z.string(), role: z.enum(['supervisor', 'safety_lead']), zoneIds: z.array(z.uuid()), language: LanguageSchema, token,
  })
  .openapi('CreatedResponder');
export const DriverSchema = z
  .object({ id: z.uuid(), name: z.string(), phone: z.string(), language: LanguageSchema, token })
  .openapi('CreatedDriver');
export const AuditorSchema = z.object({ id: z.uuid(), name: z.string(), token }).openapi('CreatedAuditor');
export const AgentSchema = z.object({ id: z.uuid(), name: z.string(), tier: z.number().int(), token }).openapi('CreatedAgent');
