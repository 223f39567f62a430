import { createRoute } from '@hono/zod-openapi';
import { getIncidentFor } from '../../incidents/store';
import { TimelineSchema, VerifySchema } from '../../timeline/schemas';
import { listEvents, verifyTimeline } from '../../timeline/store';
import { allow, principal } from '../middleware';
import { bearer, errors, IdParam, json, notFoundError, router } from '../openapi';

const app = router();
const tags = ['safety team'];
/** Auditors, safety leads and the admin; supervisors too, for the incidents of their zones. */
const READERS = ['auditor', 'safety_lead', 'admin', 'supervisor'] as const;

app.openapi(
  createRoute({
    operationId: 'getTimeline', method: 'get', path: '/v1/incidents/{id}/timeline', tags, security: bearer, request: { params: IdParam },
    summary: 'The append-only, hash-chained timeline, oldest first',
    responses: { 200: json(TimelineSchema, 'Events'), ...errors, ...notFoundError },
    middleware: [allow(...READERS)] as const,
  }),
  async (c) => {
    const p = principal(c);
    const { id } = c.req.valid('param');
    const sql = c.get('deps').sql;
    await getIncidentFor(sql, p, id);
    return c.json({ incidentId: id, events: await listEvents(sql, id) }, 200);
  },
);

app.openapi(
  createRoute({
    operationId: 'verifyTimeline', method: 'get', path: '/v1/incidents/{id}/timeline/verify', tags, security: bearer, request: { params: IdParam },
    summary: 'Recompute every hash of the chain',
    responses: { 200: json(VerifySchema, 'valid is false when any event was altered, removed or reordered'), ...errors, ...notFoundError },
    middleware: [allow(...READERS)] as const,
  }),
  async (c) => {
    const p = principal(c);
    const { id } = c.req.valid('param');
    const sql = c.get('deps').sql;
    await getIncidentFor(sql, p, id);
    return c.json(await verifyTimeline(sql, id), 200);
  },
);

export default app;
