import { createRoute } from '@hono/zod-openapi';
import {
  EscalateBody, EscalatedSchema, FiledSupportEnvelope, FileSupportBody, SupportEnvelope, UpdateSupportBody,
} from '../../support/schemas';
import { claim, escalate, fileRequest, getRequest, updateRequest } from '../../support/service';
import { allow, principal } from '../middleware';
import { bearer, body, conflictError, errors, IdParam, json, notFoundError, router } from '../openapi';

const app = router();
const tags = ['support'];

app.openapi(
  createRoute({
    operationId: 'fileSupportRequest', method: 'post', path: '/v1/support-requests', tags, security: bearer, request: body(FileSupportBody),
    summary: 'File a support request',
    description:
      'Waits for a tier-1 agent, unless it reads as an emergency: category `safety`, or text with one of the emergency ' +
      'keywords (case, accents and punctuation do not matter; whole words). Such a request is promoted at once to an ' +
      'incident through the same intake as an SOS (at the driver’s last known fix, if any), never queued, and the answer ' +
      'carries the `incidentId`.',
    responses: { 201: json(FiledSupportEnvelope, 'Filed (and, when it read as an emergency, promoted)'), ...errors },
    middleware: [allow('driver')] as const,
  }),
  async (c) => {
    const driver = principal(c);
    const filed = await fileRequest(c.get('deps'), driver, c.req.valid('json'));
    const r = filed.supportRequest;
    if (filed.incidentId) c.get('log').info({ supportRequestId: r.id, incidentId: filed.incidentId, reason: r.promotedReason }, 'support request promoted to an incident');
    else c.get('log').info({ supportRequestId: r.id, category: r.category }, 'support request filed');
    return c.json(filed, 201);
  },
);

app.openapi(
  createRoute({
    operationId: 'claimSupportRequest', method: 'post', path: '/v1/support-requests/claim', tags, security: bearer,
    summary: 'Claim the oldest open request of my tier',
    description: 'Two agents claiming at once never get the same request. 204 when the queue of the agent’s tier is empty.',
    responses: {
      200: json(SupportEnvelope, 'The request, now claimed by the caller'),
      204: { description: 'No open request of the agent’s tier' },
      ...errors,
    },
    middleware: [allow('agent')] as const,
  }),
  async (c) => {
    const supportRequest = await claim(c.get('deps'), principal(c));
    if (!supportRequest) return c.body(null, 204);
    return c.json({ supportRequest }, 200);
  },
);

app.openapi(
  createRoute({
    operationId: 'getSupportRequest', method: 'get', path: '/v1/support-requests/{id}', tags, security: bearer, request: { params: IdParam },
    summary: 'Read a support request (an addition to the contract)',
    description: 'A driver reads its own requests (another’s is 404), an agent or the administrator any. Shows the incidentId once promoted.',
    responses: { 200: json(SupportEnvelope, 'The request'), ...errors, ...notFoundError },
    middleware: [allow('driver', 'agent', 'admin')] as const,
  }),
  async (c) => {
    const supportRequest = await getRequest(c.get('deps'), principal(c), c.req.valid('param').id);
    return c.json({ supportRequest }, 200);
  },
);

app.openapi(
  createRoute({
    operationId: 'updateSupportRequest', method: 'patch', path: '/v1/support-requests/{id}', tags, security: bearer, request: { params: IdParam, ...body(UpdateSupportBody) },
    summary: 'Resolve, or move to a higher tier, a request I have claimed',
    description:
      'Exactly one of `status: "resolved"` and `tier`. A new tier must be higher than the current one (else 422); the ' +
      'request goes back to the queue, open for that tier. 409 when the request is not claimed by the caller, is resolved, ' +
      'or was promoted to an incident.',
    responses: { 200: json(SupportEnvelope, 'The request as it is now'), ...errors, ...notFoundError, ...conflictError('Not claimed by the caller, resolved, or promoted') },
    middleware: [allow('agent')] as const,
  }),
  async (c) => {
    const agent = principal(c);
    const supportRequest = await updateRequest(c.get('deps'), agent, c.req.valid('param').id, c.req.valid('json'));
    c.get('log').info({ supportRequestId: supportRequest.id, status: supportRequest.status, tier: supportRequest.tier }, 'support request updated');
    return c.json({ supportRequest }, 200);
  },
);

app.openapi(
  createRoute({
    operationId: 'escalateSupportRequest', method: 'post', path: '/v1/support-requests/{id}/escalate', tags, security: bearer,
    request: { params: IdParam, body: { content: { 'application/json': { schema: EscalateBody } }, required: false } },
    summary: 'Promote a request to an incident: I read danger in it',
    description:
      'One call, no approval, whatever the request’s state or tier. The incident is opened through the same intake as an ' +
      'SOS, at the driver’s last known fix; the agent gets only its id (agents cannot read incidents). A request already ' +
      'promoted answers 409, naming its incident in the message and in `details.incidentId`.',
    responses: { 201: json(EscalatedSchema, 'The incident opened'), ...errors, ...notFoundError, ...conflictError('Already promoted to an incident') },
    middleware: [allow('agent')] as const,
  }),
  async (c) => {
    const agent = principal(c);
    const { id } = c.req.valid('param');
    const { incidentId } = await escalate(c.get('deps'), agent, id, c.req.valid('json').note);
    c.get('log').info({ supportRequestId: id, incidentId }, 'support request escalated to an incident');
    return c.json({ incidentId }, 201);
  },
);

export default app;
