import { createRoute, z } from '@hono/zod-openapi';
import { router, json, body, errors, notFoundError, conflictError, bearer, IdParam } from '../openapi';
import { allow, principal } from '../middleware';
import { EscalationPolicySchema } from '../../escalation/policy';
import { CreateZoneBody, OverrideBody, RotationBody, ZoneSchema } from '../../zones/schemas';
import * as zones from '../../zones/store';
import * as users from '../../users/store';
import {
  AgentSchema, AuditorSchema, CreateAgentBody, CreateAuditorBody, CreateDriverBody, CreateResponderBody, DriverSchema, ResponderSchema,
} from '../../users/schemas';

const tags = ['admin'];
const app = router();

app.openapi(
  createRoute({ operationId: 'createZone', method: 'post', path: '/v1/zones', summary: 'Create a zone: a boundary, or the fallback zone', tags, security: bearer, request: body(CreateZoneBody),
    responses: { 201: json(ZoneSchema, 'The zone'), ...errors, ...conflictError('A fallback zone already exists') },
    middleware: [allow('admin')] as const }),
  async (c) => {
    const deps = c.get('deps');
    const zone = await zones.createZone(deps.sql, c.req.valid('json'));
    deps.zones.invalidate();
    return c.json(zone, 201);
  },
);

app.openapi(
  createRoute({ operationId: 'listZones', method: 'get', path: '/v1/zones', summary: 'List every zone', tags, security: bearer,
    responses: { 200: json(z.object({ zones: z.array(ZoneSchema) }), 'Every zone'), ...errors },
    middleware: [allow('admin', 'supervisor', 'safety_lead', 'auditor')] as const }),
  async (c) => {
    return c.json({ zones: await zones.listZones(c.get('deps').sql) }, 200);
  },
);

app.openapi(
  createRoute({ operationId: 'getZone', method: 'get', path: '/v1/zones/{id}', summary: 'Read a zone', tags, security: bearer, request: { params: IdParam },
    responses: { 200: json(ZoneSchema, 'The zone'), ...errors, ...notFoundError },
    middleware: [allow('admin', 'supervisor', 'safety_lead', 'auditor')] as const }),
  async (c) => {
    return c.json(await zones.getZone(c.get('deps').sql, c.req.valid('param').id), 200);
  },
);

app.openapi(
  createRoute({ operationId: 'createResponder', method: 'post', path: '/v1/responders', summary: 'Create a supervisor or safety lead, with a token shown once', tags, security: bearer, request: body(CreateResponderBody),
    responses: { 201: json(ResponderSchema, 'The responder and its token (shown once)'), ...errors, ...conflictError('Phone already in use') },
    middleware: [allow('admin')] as const }),
  async (c) => {
    return c.json(await users.createResponder(c.get('deps').sql, c.req.valid('json')), 201);
  },
);

app.openapi(
  createRoute({ operationId: 'createDriver', method: 'post', path: '/v1/drivers', summary: 'Create a driver, with a token shown once', tags, security: bearer, request: body(CreateDriverBody),
    responses: { 201: json(DriverSchema, 'The driver and its token (shown once); PINs are stored hashed'), ...errors, ...conflictError('Phone already in use') },
    middleware: [allow('admin')] as const }),
  async (c) => {
    return c.json(await users.createDriver(c.get('deps').sql, c.req.valid('json')), 201);
  },
);

app.openapi(
  createRoute({ operationId: 'createAuditor', method: 'post', path: '/v1/auditors', summary: 'Create an auditor, with a token shown once', tags, security: bearer, request: body(CreateAuditorBody),
    responses: { 201: json(AuditorSchema, 'The auditor and its token (shown once)'), ...errors },
    middleware: [allow('admin')] as const }),
  async (c) => {
    return c.json(await users.createAuditor(c.get('deps').sql, c.req.valid('json')), 201);
  },
);

app.openapi(
  createRoute({ operationId: 'createAgent', method: 'post', path: '/v1/agents', summary: 'Create a support agent, with a token shown once', tags, security: bearer, request: body(CreateAgentBody),
    responses: { 201: json(AgentSchema, 'The support agent and its token (shown once)'), ...errors },
    middleware: [allow('admin')] as const }),
  async (c) => {
    return c.json(await users.createAgent(c.get('deps').sql, c.req.valid('json')), 201);
  },
);

const RotationOut = RotationBody.extend({ zoneId: z.uuid() }).openapi('RotationSet');
app.openapi(
  createRoute({ operationId: 'setRotation', method: 'put', path: '/v1/zones/{id}/rotation', summary: 'Set a zone’s on-call rotation', tags, security: bearer, request: { params: IdParam, ...body(RotationBody) },
    responses: { 200: json(RotationOut, 'The rotation now in force'), ...errors, ...notFoundError },
    middleware: [allow('admin')] as const }),
  async (c) => {
    return c.json(await zones.setRotation(c.get('deps').sql, c.req.valid('param').id, c.req.valid('json')), 200);
  },
);

const OverrideOut = z.object({ id: z.uuid(), zoneId: z.uuid(), responderId: z.uuid(), from: z.string(), to: z.string() }).openapi('Override');
app.openapi(
  createRoute({ operationId: 'createOverride', method: 'post', path: '/v1/zones/{id}/overrides', summary: 'Put a responder on call for a while, instead of the rotation', tags, security: bearer, request: { params: IdParam, ...body(OverrideBody) },
    responses: { 201: json(OverrideOut, 'The override'), ...errors, ...notFoundError },
    middleware: [allow('admin')] as const }),
  async (c) => {
    return c.json(await zones.addOverride(c.get('deps').sql, c.req.valid('param').id, c.req.valid('json')), 201);
  },
);

const OncallQuery = z.object({ at: z.iso.datetime({ offset: true }).optional().openapi({ description: 'Default: now.' }) });
const OncallOut = z
  .object({
    zoneId: z.uuid(),
    at: z.string(),
    responderId: z.uuid().nullable(),
    confirmedAt: z.string().nullable().openapi({ description: 'When that responder replied OK to the readiness check of their shift; null when they have not (or nobody is on call).' }),
  })
  .openapi('Oncall');
app.openapi(
  createRoute({ operationId: 'getOncall', method: 'get', path: '/v1/zones/{id}/oncall', summary: 'Who is on call in a zone, now or at a given instant', tags: ['oncall'], security: bearer, request: { params: IdParam, query: OncallQuery },
    responses: { 200: json(OncallOut, 'Who is on call then (an override, else the rotation); null when nobody'), ...errors, ...notFoundError },
    middleware: [allow('admin', 'supervisor', 'safety_lead')] as const }),
  async (c) => {
    const at = c.req.valid('query').at;
    return c.json(await zones.oncallAt(c.get('deps').sql, c.req.valid('param').id, at ? new Date(at) : new Date()), 200);
  },
);

// Not an extension of the request's strict schema: published as allOf, its additionalProperties: false refused zoneId.
const PolicyOut = z
  .object({ zoneId: z.uuid(), steps: EscalationPolicySchema.shape.steps, repeatEverySeconds: z.number().int() })
  .openapi('EscalationPolicySet');
app.openapi(
  createRoute({ operationId: 'setEscalationPolicy', method: 'put', path: '/v1/zones/{id}/escalation-policy', summary: 'Set a zone’s escalation policy', tags, security: bearer, request: { params: IdParam, ...body(EscalationPolicySchema) },
    responses: { 200: json(PolicyOut, 'The policy now in force'), ...errors, ...notFoundError },
    middleware: [allow('admin')] as const }),
  async (c) => {
    return c.json(await zones.setEscalationPolicy(c.get('deps').sql, c.req.valid('param').id, c.req.valid('json')), 200);
  },
);

export default app;
