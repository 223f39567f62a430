import { createRoute, z } from '@hono/zod-openapi';
import { Phone } from '../../users/schemas';
import { AppError } from '../../errors';
import { allow, requireRole } from '../middleware';
import { bearer, body, errors, json, notFoundError, conflictError, router } from '../openapi';
import type { Context } from 'hono';
import type { AppEnv } from '../context';

/**
 * The phone simulator's API (admin only; present only when no Twilio credentials are set). Every
 * action is recorded as simulator.action on the incident it concerns, naming the administrator.
 */
const app = router();
const tags = ['simulator'];

const sim = (c: Context<AppEnv>) => {
  requireRole(c, 'admin');
  const s = c.get('deps').simulator;
  if (!s) throw new AppError('not_found', 'the phone simulator is off: Twilio credentials are configured');
  return s;
};

const SimMessage = z
  .object({
    sid: z.string(), kind: z.enum(['sms', 'call']), direction: z.enum(['to_phone', 'from_phone']), phone: z.string(), body: z.string(),
    pageId: z.uuid().nullable(), status: z.string(), digits: z.string().nullable(), createdAt: z.string(), endedAt: z.string().nullable(),
  })
  .openapi('SimMessage');
const PhoneParam = z.object({ phone: Phone.openapi({ param: { name: 'phone', in: 'path' } }) });
const SidParam = z.object({ sid: z.string().regex(/^CA[0-9a-f]{32}$/).openapi({ param: { name: 'sid', in: 'path' } }) });

app.openapi(
  createRoute({ operationId: 'listSimulatedPhones', method: 'get', path: '/v1/simulator/phones', summary: 'Simulated phones that got or sent anything', tags, security: bearer,
    responses: { 200: json(z.object({ phones: z.array(z.object({ phone: z.string(), name: z.string().nullable(), role: z.string().nullable(), messages: z.number(), lastAt: z.string() })) }), 'Phones that got or sent anything'), ...errors, ...notFoundError },
    middleware: [allow('admin')] as const }),
  async (c) => c.json({ phones: await sim(c).phonesAs(requireRole(c, 'admin')) }, 200),
);

app.openapi(
  createRoute({ operationId: 'listSimulatedMessages', method: 'get', path: '/v1/simulator/phones/{phone}/messages', summary: 'Messages and calls of one simulated phone', tags, security: bearer, request: { params: PhoneParam },
    responses: { 200: json(z.object({ messages: z.array(SimMessage) }), 'Messages and calls of one phone, oldest first'), ...errors, ...notFoundError },
    middleware: [allow('admin')] as const }),
  async (c) => c.json({ messages: await sim(c).listAs(requireRole(c, 'admin'), c.req.valid('param').phone) }, 200),
);

app.openapi(
  createRoute({ operationId: 'textFromSimulatedPhone', method: 'post', path: '/v1/simulator/phones/{phone}/sms', tags, security: bearer,
    request: { params: PhoneParam, ...body(z.strictObject({ body: z.string().min(1).max(1600) })) },
    summary: 'The phone texts Mayday (as an inbound Twilio SMS would)',
    responses: { 200: json(z.object({ reply: z.string().nullable() }), 'Mayday’s reply'), ...errors, ...notFoundError },
    middleware: [allow('admin')] as const }),
  async (c) => c.json(await sim(c).textAs(requireRole(c, 'admin'), c.req.valid('param').phone, c.req.valid('json').body), 200),
);

app.openapi(
  createRoute({ operationId: 'pressSimulatedDigits', method: 'post', path: '/v1/simulator/calls/{sid}/digits', tags, security: bearer,
    request: { params: SidParam, ...body(z.strictObject({ digits: z.string().regex(/^[0-9*#]{1,8}$/) })) },
    summary: 'Press a digit on a ringing page call (1 acknowledges); the call then ends',
    responses: { 200: json(z.object({ result: z.string(), say: z.string() }), 'What the call answers'), ...errors, ...notFoundError, ...conflictError('The call has ended') },
    middleware: [allow('admin')] as const }),
  async (c) => c.json(await sim(c).pressAs(requireRole(c, 'admin'), c.req.valid('param').sid, c.req.valid('json').digits), 200),
);

app.openapi(
  createRoute({ operationId: 'hangUpSimulatedCall', method: 'post', path: '/v1/simulator/calls/{sid}/hangup', tags, security: bearer, request: { params: SidParam },
    summary: 'Hang up without pressing anything (not an acknowledgement)',
    responses: { 200: json(z.object({ ended: z.literal(true) }), 'Ended'), ...errors, ...notFoundError, ...conflictError('The call has ended') },
    middleware: [allow('admin')] as const }),
  async (c) => {
    await sim(c).hangupAs(requireRole(c, 'admin'), c.req.valid('param').sid);
    return c.json({ ended: true as const }, 200);
  },
);

export default app;
