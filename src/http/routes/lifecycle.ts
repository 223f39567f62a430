import { createRoute, z } from '@hono/zod-openapi';
import { DISPOSITIONS, IncidentEnvelope } from '../../incidents/schemas';
import { acknowledge, cancel, checkIn, resolve } from '../../incidents/lifecycle';
import { getIncidentFor } from '../../incidents/store';
import { listPages } from '../../paging/store';
import { allow, principal } from '../middleware';
import { bearer, body, conflictError, errors, IdParam, json, notFoundError, router } from '../openapi';

const app = router();
const tags = ['responder'];

app.openapi(
  createRoute({
    operationId: 'acknowledgeIncident', method: 'post', path: '/v1/incidents/{id}/ack', tags, security: bearer, request: { params: IdParam },
    summary: 'Acknowledge: I have it. Stops every further page of the incident.',
    responses: { 200: json(IncidentEnvelope, 'Acknowledged'), ...errors, ...notFoundError, ...conflictError('The incident is not open') },
    middleware: [allow('supervisor', 'safety_lead')] as const,
  }),
  async (c) => {
    const p = principal(c);
    const incident = await acknowledge(c.get('deps'), p, c.req.valid('param').id);
    c.get('log').info({ incidentId: incident.id }, 'acknowledged');
    return c.json({ incident }, 200);
  },
);

const ResolveBody = z.strictObject({ disposition: z.enum(DISPOSITIONS), note: z.string().max(4000).optional() }).openapi('Resolve');
app.openapi(
  createRoute({
    operationId: 'resolveIncident', method: 'post', path: '/v1/incidents/{id}/resolve', tags, security: bearer, request: { params: IdParam, ...body(ResolveBody) },
    summary: 'Resolve with a disposition; a resolved incident accepts no more changes',
    responses: { 200: json(IncidentEnvelope, 'Resolved'), ...errors, ...notFoundError, ...conflictError('Already resolved') },
    middleware: [allow('supervisor', 'safety_lead')] as const,
  }),
  async (c) => {
    const p = principal(c);
    const incident = await resolve(c.get('deps'), p, c.req.valid('param').id, c.req.valid('json'));
    c.get('log').info({ incidentId: incident.id, disposition: incident.disposition }, 'resolved');
    return c.json({ incident }, 200);
  },
);

const PageSchema = z
  .object({
    id: z.uuid(), recipientId: z.uuid(), recipientName: z.string(), channel: z.enum(['sms', 'voice']),
    purpose: z.string(), step: z.number().int(), round: z.number().int(), attempt: z.number().int(),
    status: z.string(), twilioStatus: z.string().nullable(), answeredBy: z.string().nullable(), sid: z.string().nullable(),
    error: z.string().nullable(), createdAt: z.string(), sentAt: z.string().nullable(), deliveredAt: z.string().nullable(),
  })
  .openapi('Page');
app.openapi(
  createRoute({
    operationId: 'listPages', method: 'get', path: '/v1/incidents/{id}/pages', tags, security: bearer, request: { params: IdParam },
    summary: 'Every page of the incident and its delivery state (an addition to the contract)',
    responses: { 200: json(z.object({ pages: z.array(PageSchema) }), 'Pages, oldest first'), ...errors, ...notFoundError },
    middleware: [allow('supervisor', 'safety_lead', 'auditor', 'admin')] as const,
  }),
  async (c) => {
    const p = principal(c);
    const { id } = c.req.valid('param');
    const sql = c.get('deps').sql;
    await getIncidentFor(sql, p, id);
    return c.json({ pages: (await listPages(sql, id)) as z.infer<typeof PageSchema>[] }, 200);
  },
);

const CheckInBody = z.strictObject({ status: z.enum(['safe', 'need_help']), note: z.string().max(2000).optional() }).openapi('CheckIn');
const CheckInOut = z.object({ checkIn: z.object({ incidentId: z.uuid(), status: z.enum(['safe', 'need_help']), receivedAt: z.string() }) }).openapi('CheckInReceived');
app.openapi(
  createRoute({
    operationId: 'answerCheckIn', method: 'post', path: '/v1/incidents/{id}/check-ins', tags: ['driver'], security: bearer, request: { params: IdParam, ...body(CheckInBody) },
    summary: 'Answer a check-in: safe, or need_help (raises severity and pages the current step again at once)',
    responses: { 201: json(CheckInOut, 'Recorded'), ...errors, ...notFoundError, ...conflictError('The incident is resolved') },
    middleware: [allow('driver')] as const,
  }),
  async (c) => {
    const checkIn_ = await checkIn(c.get('deps'), principal(c), c.req.valid('param').id, c.req.valid('json'));
    return c.json({ checkIn: checkIn_ }, 201);
  },
);

const CancelBody = z.strictObject({ pin: z.string().min(1).max(64) }).openapi('Cancel');
app.openapi(
  createRoute({
    operationId: 'cancelIncident', method: 'post', path: '/v1/incidents/{id}/cancel', tags: ['driver'], security: bearer, request: { params: IdParam, ...body(CancelBody) },
    summary: 'Cancel with the driver’s PIN',
    description: 'The cancel PIN moves the incident to cancel_requested (a responder resolves it). A wrong PIN changes nothing (403); after 5 wrong PINs cancelling is locked (403). The duress PIN answers exactly like the cancel PIN.',
    responses: { 200: json(IncidentEnvelope, 'Cancel requested'), ...errors, ...notFoundError, ...conflictError('Already cancelled or resolved') },
    middleware: [allow('driver')] as const,
  }),
  async (c) => {
    const incident = await cancel(c.get('deps'), principal(c), c.req.valid('param').id, c.req.valid('json').pin);
    return c.json({ incident }, 200);
  },
);

export default app;
