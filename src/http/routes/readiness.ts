import { createRoute } from '@hono/zod-openapi';
import { RangeQuery } from '../../audit/schemas';
import { recordAudit } from '../../audit/store';
import { actorOf } from '../../auth/principal';
import { ReadinessReportSchema } from '../../readiness/schemas';
import { readinessReport } from '../../readiness/store';
import { allow, principal } from '../middleware';
import { bearer, errors, json, router } from '../openapi';

const app = router();

app.openapi(
  createRoute({
    operationId: 'getReadinessReport', method: 'get', path: '/v1/reports/readiness', tags: ['safety team'], security: bearer, request: { query: RangeQuery },
    summary: 'On-call readiness by zone and ISO week: shifts checked, confirmed, median time to confirm, missed',
    description: 'For the shifts that began in the range (each checked with "Reply OK <code>" at its start), grouped by zone and ISO week (UTC): how many, how many the responder confirmed, the median seconds from the check to the OK, and how many went unconfirmed past the zone\'s `readinessGraceSeconds` (its safety leads were paged). Recorded in the audit log.',
    responses: { 200: json(ReadinessReportSchema, 'The report'), ...errors },
    middleware: [allow('auditor', 'safety_lead', 'admin')] as const,
  }),
  async (c) => {
    const q = c.req.valid('query');
    const deps = c.get('deps');
    const weeks = await readinessReport(deps.sql, { from: q.from, to: q.to });
    await recordAudit(deps.sql, actorOf(principal(c)), 'report', { report: 'readiness', from: q.from.toISOString(), to: q.to.toISOString() });
    return c.json({ from: q.from.toISOString(), to: q.to.toISOString(), weeks }, 200);
  },
);

export default app;
