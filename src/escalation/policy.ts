/**
 * A zone's escalation policy: who is paged (the on-call person, the zone's supervisors, its
 * safety leads, or named responders), by which channels, and when after the SOS. The engine
 * runs it (escalate() in SQL); a zone without one uses default_escalation_policy().
 */
import { z } from '@hono/zod-openapi';

/** How often the last step repeats until someone acknowledges, when the policy does not say. */
export const DEFAULT_REPEAT_SECONDS = 120;

export const NOTIFY_TARGETS = ['oncall', 'zone_supervisors', 'safety_leads'] as const;
export const CHANNELS = ['sms', 'voice'] as const;
export type Channel = (typeof CHANNELS)[number];

export const EscalationStepSchema = z.strictObject({
  afterSeconds: z.number().int().min(0).max(86_400),
  notify: z.array(z.union([z.enum(NOTIFY_TARGETS), z.uuid()])).min(1).max(50),
  channels: z
    .array(z.enum(CHANNELS))
    .min(1)
    .refine((c) => new Set(c).size === c.length, 'channels must not repeat'),
});
export const EscalationPolicySchema = z
  .strictObject({
    steps: z
      .array(EscalationStepSchema)
      .min(1)
      .max(20)
      .refine((s) => s.every((step, i) => i === 0 || step.afterSeconds > s[i - 1].afterSeconds), 'afterSeconds must be strictly increasing'),
    repeatEverySeconds: z.number().int().min(10).max(86_400).optional().openapi({ description: `How often the last step repeats until someone acknowledges (default ${DEFAULT_REPEAT_SECONDS}).` }),
  })
  .openapi('EscalationPolicy');
export type EscalationPolicy = z.infer<typeof EscalationPolicySchema>;

/** Responder ids a policy names (the rest are targets such as `oncall`). */
export const namedResponders = (policy: EscalationPolicy): string[] =>
  policy.steps.flatMap((s) => s.notify.filter((n) => !(NOTIFY_TARGETS as readonly string[]).includes(n)));
