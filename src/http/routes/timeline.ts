import { createRoute } from '@hono/zod-openapi';
import { getIncidentFor } from '../../incidents/store';
import { TimelineSchema } from '../../timeline/schemas';
import { listEvents } from '../../timeline/store';
import { TimelineVerificationSchema, verifyIncident } from '../../timeline/verification';
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
    description: 'Recomputes the hash chain, checks that the incident row says what its events say, and that every head a signed checkpoint covered is still there with the same hash (the chain of checkpoints recomputed, its newest signature checked with the trusted keys of `/v1/audit/keys`). Events after the newest checkpoint are covered by the chain only: see docs/api.md for what is and is not detectable.',
    responses: { 200: json(TimelineVerificationSchema, 'valid is false when any event was altered, removed or reordered, the row disagrees with the events, or a checkpoint disagrees'), ...errors, ...notFoundError },
    middleware: [allow(...READERS)] as const,
  }),
  async (c) => {
    const p = principal(c);
    const { id } = c.req.valid('param');
    const sql = c.get('deps').sql;
    await getIncidentFor(sql, p, id);
    return c.json(await verifyIncident(sql, id, await c.get('deps').keyring), 200);
  },
);

export default app;
