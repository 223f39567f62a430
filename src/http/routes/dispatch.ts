import { createRoute, z } from '@hono/zod-openapi';
import { centerEvents, latestDispatch, playSimulatedDispatch, requestDispatch } from '../../dispatch/service';
import { DISPATCH_STATUSES, SERVICES } from '../../dispatch/store';
import { parseNoonlightEvents, verifyNoonlightSignature } from '../../dispatch/webhook';
import { AppError } from '../../errors';
import { getIncidentFor } from '../../incidents/store';
import { ErrorBody } from '../errors';
import { allow, principal } from '../middleware';
import { bearer, body, conflictError, errors, IdParam, json, notFoundError, router } from '../openapi';

/** Emergency dispatch: the request, its state, Noonlight's webhook and the dispatch-center simulator. */
const app = router();

const DispatchBody = z
  .strictObject({
    services: z.array(z.enum(SERVICES)).min(1).max(3).openapi({ description: 'What to send: police, fire, medical (at least one).' }),
    note: z.string().trim().max(500).optional().openapi({ description: 'For the dispatcher, with the incident’s kind and code.' }),
  })
  .openapi('DispatchRequest');
const DispatchRef = z.object({ id: z.uuid(), status: z.enum(DISPATCH_STATUSES), services: z.array(z.enum(SERVICES)) }).openapi('DispatchRef');
const DispatchOut = z.object({ dispatch: DispatchRef }).openapi('DispatchEnvelope');

app.openapi(
  createRoute({
    operationId: 'requestDispatch', method: 'post', path: '/v1/incidents/{id}/dispatch', tags: ['responder'], security: bearer,
    request: { params: IdParam, ...body(DispatchBody) },
    summary: 'Request emergency services (police, fire, medical) through the dispatch center',
    description:
      'Allowed to the supervisor who acknowledged the incident, a supervisor of its zone, a safety lead and the admin. ' +
      'Mayday records the request, then opens an alarm with the driver’s name and phone, the newest fix and its accuracy, the services and what the incident is. ' +
      'Status `active` when the center took it; `failed` when it refused it or gave no answer: the safety leads are then paged at once to call 911 themselves. ' +
      'While a dispatch is live (requested, active, psap_contacted) a new request answers 200 with it.',
    responses: {
      201: json(DispatchOut, 'Requested: the dispatch this call made (active, or failed)'),
      200: json(DispatchOut, 'A dispatch was already live for the incident: that one'),
      ...errors, ...notFoundError, ...conflictError('The incident is resolved'),
      503: json(ErrorBody, 'Dispatch is not configured'),
    },
    middleware: [allow('supervisor', 'safety_lead', 'admin')] as const,
  }),
  async (c) => {
    const { created, dispatch } = await requestDispatch(c.get('deps'), principal(c), c.req.valid('param').id, c.req.valid('json'), 'api');
    return c.json({ dispatch }, created ? 201 : 200);
  },
);

const DispatchView = z
  .object({
    id: z.uuid(), incidentId: z.uuid(), status: z.enum(DISPATCH_STATUSES), services: z.array(z.enum(SERVICES)),
    alarmId: z.string().nullable(), center: z.string(), requestedBy: z.string(), requestedAt: z.string(), createdAt: z.string().nullable(),
    psapContactedAt: z.string().nullable(), closedAt: z.string().nullable(), canceledAt: z.string().nullable(), failedAt: z.string().nullable(),
  })
  .openapi('Dispatch');
app.openapi(
  createRoute({
    operationId: 'getDispatch', method: 'get', path: '/v1/incidents/{id}/dispatch', tags: ['responder'], security: bearer, request: { params: IdParam },
    summary: 'The incident’s newest dispatch, or null (an addition to the contract)',
    responses: { 200: json(z.object({ dispatch: DispatchView.nullable() }), 'The newest dispatch'), ...errors, ...notFoundError },
    middleware: [allow('supervisor', 'safety_lead', 'auditor', 'admin')] as const,
  }),
  async (c) => {
    const { id } = c.req.valid('param');
    const sql = c.get('deps').sql;
    await getIncidentFor(sql, principal(c), id);
    return c.json({ dispatch: (await latestDispatch(sql, id)) ?? null }, 200);
  },
);

// The dispatch-center simulator (admin; present only without NOONLIGHT_SERVER_TOKEN).
const SIM_ACTIONS = ['psap_contacted', 'closed', 'canceled', 'refused'] as const;
const SimAction = z.strictObject({
  action: z.enum(SIM_ACTIONS).openapi({
    description: 'psap_contacted: "911 contacted"; closed: the dispatcher closed it; canceled: "canceled by the person"; refused: the incident’s next dispatch request is refused.',
  }),
}).openapi('SimulatedDispatchAction');
app.openapi(
  createRoute({
    operationId: 'playSimulatedDispatch', method: 'post', path: '/v1/simulator/dispatch/incidents/{id}', tags: ['simulator'], security: bearer,
    request: { params: IdParam, ...body(SimAction) },
    summary: 'The simulated dispatcher acts on the incident’s live alarm, as Noonlight’s webhook would report it',
    description: '`refused` needs no live alarm: the next alarm asked of the simulator is refused, which makes that dispatch fail (and pages the safety leads).',
    responses: {
      200: json(z.object({ action: z.enum(SIM_ACTIONS), alarmId: z.string().nullable() }), 'Played'),
      ...errors, ...notFoundError, ...conflictError('The incident has no live alarm'),
    },
    middleware: [allow('admin')] as const,
  }),
  async (c) => {
    const { id } = c.req.valid('param');
    const { action } = c.req.valid('json');
    const deps = c.get('deps');
    await getIncidentFor(deps.sql, principal(c), id);
    const { alarmId } = await playSimulatedDispatch(deps, id, action);
    c.get('log').info({ incidentId: id, action }, 'simulated dispatcher');
    return c.json({ action, alarmId }, 200);
  },
);

/**
 * Noonlight's webhook: the signature (X-Noonlight-Signature, HMAC-SHA256 of the raw body with
 * NOONLIGHT_WEBHOOK_SECRET) is checked before anything else; a bad or missing one, or no secret
 * configured, is 403 and changes nothing. Each event_id is kept once; 200 once all are recorded.
 */
app.post('/webhooks/noonlight', async (c) => {
  const deps = c.get('deps');
  const raw = new Uint8Array(await c.req.arrayBuffer());
  const secret = deps.dispatch?.webhookSecret;
  if (!secret || !(await verifyNoonlightSignature(raw, c.req.header('x-noonlight-signature'), secret))) {
    c.get('log').warn('noonlight webhook with a bad or missing signature');
    throw new AppError('bad_signature', 'X-Noonlight-Signature does not match');
  }
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(raw);
  } catch {
    throw new AppError('malformed_json', 'the webhook body is not UTF-8');
  }
  const counts = await centerEvents(deps, parseNoonlightEvents(text), 'noonlight');
  c.get('log').info(counts, 'noonlight webhook');
  return c.json({ received: true, ...counts }, 200);
});

app.openAPIRegistry.registerComponent('securitySchemes', 'noonlightSignature', {
  type: 'apiKey', in: 'header', name: 'X-Noonlight-Signature',
  description: 'Base64 HMAC-SHA256 of the raw body with NOONLIGHT_WEBHOOK_SECRET.',
});
app.openAPIRegistry.registerPath({
  method: 'post', path: '/webhooks/noonlight', operationId: 'noonlightWebhook', tags: ['noonlight'], security: [{ noonlightSignature: [] }],
  summary: 'Noonlight: events of an alarm (psap_contacted, closed, canceled), each event_id recorded once',
  request: {
    body: {
      required: true,
      content: {
        'application/json': {
          schema: z.array(z.looseObject({ event_id: z.string(), event_type: z.string(), event_time: z.string(), meta: z.looseObject({ alarm_id: z.string() }) })),
        },
      },
    },
  },
  responses: {
    200: json(z.object({ received: z.literal(true), recorded: z.number(), duplicates: z.number(), unknown: z.number() }), 'Recorded (duplicates and unknown alarms are ignored)'),
    400: json(ErrorBody, 'Not JSON'),
    403: json(ErrorBody, 'X-Noonlight-Signature is missing or does not match'),
    413: json(ErrorBody, 'Body over 64 KiB'),
    422: json(ErrorBody, 'Not Noonlight events'),
    503: json(ErrorBody, 'An event for an alarm not known yet while a dispatch is being requested: deliver it again'),
  },
});

export default app;
