import { z } from '@hono/zod-openapi';

export const CATEGORIES = ['payment', 'app', 'scheduling', 'account', 'safety', 'other'] as const;
export type Category = (typeof CATEGORIES)[number];
export const SUPPORT_STATUSES = ['open', 'claimed', 'resolved', 'promoted'] as const;
export type SupportStatus = (typeof SUPPORT_STATUSES)[number];
export const PROMOTION_REASONS = ['category', 'keyword', 'agent'] as const;
export type PromotionReason = (typeof PROMOTION_REASONS)[number];

const Tier = z.union([z.literal(1), z.literal(2), z.literal(3)]);

export const FileSupportBody = z
  .strictObject({
    category: z.enum(CATEGORIES).openapi({ description: '`safety` is promoted to an incident at once.' }),
    text: z.string().trim().min(1).max(4000).openapi({ description: 'Free text. Text that reads as an emergency (src/support/emergency.ts) is promoted to an incident at once.' }),
  })
  .openapi('FileSupportRequest');

export const UpdateSupportBody = z
  .strictObject({
    status: z.literal('resolved').optional(),
    tier: Tier.optional().openapi({ description: 'A higher tier than the current one: the request goes back to the queue, open for that tier.' }),
  })
  .refine((b) => (b.status === undefined) !== (b.tier === undefined), { message: 'give exactly one of status and tier' })
  .openapi('UpdateSupportRequest');

export const EscalateBody = z
  .strictObject({ note: z.string().trim().max(2000).optional().openapi({ description: 'What the agent read; goes to the incident and its timeline.' }) })
  .openapi('EscalateSupportRequest');

export const SupportRequestSchema = z
  .object({
    id: z.uuid(),
    driverId: z.uuid(),
    category: z.enum(CATEGORIES),
    text: z.string(),
    tier: z.number().int(),
    status: z.enum(SUPPORT_STATUSES).openapi({ description: '`promoted`: it became an incident (see incidentId) and is not in the queue.' }),
    claimedBy: z.uuid().nullable(),
    claimedAt: z.string().nullable(),
    incidentId: z.uuid().nullable().openapi({ description: 'The incident it was promoted to, if it was.' }),
    promotedReason: z.enum(PROMOTION_REASONS).nullable(),
    createdAt: z.string(),
    updatedAt: z.string(),
    resolvedAt: z.string().nullable(),
  })
  .openapi('SupportRequest');
export type SupportRequest = z.infer<typeof SupportRequestSchema>;

export const SupportEnvelope = z.object({ supportRequest: SupportRequestSchema }).openapi('SupportRequestEnvelope');

export const FiledSupportEnvelope = z
  .object({
    supportRequest: SupportRequestSchema,
    incidentId: z.uuid().optional().openapi({ description: 'Present when the request read as an emergency: the incident it was promoted to (also supportRequest.incidentId).' }),
  })
  .openapi('FiledSupportRequest');

export const EscalatedSchema = z.object({ incidentId: z.uuid() }).openapi('EscalatedSupportRequest');
