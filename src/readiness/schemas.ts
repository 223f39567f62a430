import { z } from '@hono/zod-openapi';

export const ReadinessWeekSchema = z
  .object({
    zoneId: z.uuid(),
    zoneName: z.string(),
    week: z.string().openapi({ description: 'The ISO week (UTC) the shifts began in, like `2026-W49`.', example: '2026-W49' }),
    shifts: z.number().int().openapi({ description: 'Shifts that began in the week and were checked.' }),
    confirmed: z.number().int().openapi({ description: 'Of those, shifts whose responder replied OK in time: before the safety leads were paged, while the shift was under way (a late OK confirms nothing).' }),
    medianSecondsToConfirm: z.number().nullable().openapi({ description: 'Median seconds from the check to the OK, over the confirmed shifts; null when none was.' }),
    missed: z.number().int().openapi({ description: 'Shifts not confirmed within the zone’s grace: the safety leads were paged.' }),
  })
  .openapi('ReadinessWeek');

export const ReadinessReportSchema = z
  .object({ from: z.string(), to: z.string(), weeks: z.array(ReadinessWeekSchema) })
  .openapi('ReadinessReport');
