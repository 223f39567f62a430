import { OpenAPIHono, z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { handleInboundSms } from '../../inbound/sms';
import { maskPhone } from '../../log';
import { onKeypress } from '../../inbound/keypress';
import { onStatus } from '../../paging/callbacks';
import { onReadinessTextFailed } from '../../readiness/service';
import type { AppEnv } from '../context';
import { AppError } from '../../errors';
import { ErrorBody } from '../errors';

/**
 * Twilio's webhooks. Every request is checked against X-Twilio-Signature using the exact URL
 * Twilio was given (PUBLIC_BASE_URL + path + query) before anything else happens: a bad or
 * missing signature gets 403 and changes nothing.
 */
const app = new OpenAPIHono<AppEnv>();

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

async function signedForm(c: Context<AppEnv>): Promise<Record<string, string>> {
  const type = c.req.header('content-type') ?? '';
  if (!/^application\/x-www-form-urlencoded/i.test(type)) throw new AppError('unsupported_media_type', 'Twilio webhooks are form-encoded');
  // Read as text and split as a form: the same fields as parseBody() (a repeated key keeps its
  // last value), without building a FormData through the web streams (a webhook is ~7 per SOS).
  const params: Record<string, string> = {};
  for (const [k, v] of new URLSearchParams(await c.req.text())) params[k] = v;
  const deps = c.get('deps');
  const url = new URL(c.req.url);
  const signedUrl = `${deps.publicBaseUrl}${url.pathname}${url.search}`;
  if (!deps.telephony.validateSignature(signedUrl, params, c.req.header('x-twilio-signature'))) {
    c.get('log').warn({ path: url.pathname }, 'twilio webhook with a bad or missing signature');
    throw new AppError('bad_signature', 'X-Twilio-Signature does not match');
  }
  return params;
}

const pageOf = (c: Context<AppEnv>) => {
  const id = c.req.query('page');
  return id && UUID.test(id) ? id : undefined;
};

const xml = (c: Context<AppEnv>, body: string) => c.body(body, 200, { 'content-type': 'text/xml; charset=utf-8' });

app.post('/webhooks/twilio/sms', async (c) => {
  const f = await signedForm(c);
  const deps = c.get('deps');
  const reply = f.From ? await handleInboundSms(deps, f.From, f.Body ?? '', f.MessageSid || f.SmsSid || undefined) : null;
  c.get('log').info({ from: maskPhone(f.From), replied: reply !== null }, 'inbound sms');
  return xml(c, deps.twiml.message(reply ?? undefined));
});

app.post('/webhooks/twilio/status', async (c) => {
  const f = await signedForm(c);
  // An on-call readiness text (not a page) that failed after Twilio took it: call instead.
  const readiness = c.req.query('readiness');
  if (readiness && UUID.test(readiness) && ['failed', 'undelivered'].includes(f.MessageStatus ?? f.SmsStatus ?? '')) {
    await onReadinessTextFailed(c.get('deps'), readiness);
  }
  const pageId = pageOf(c);
  if (pageId) {
    await onStatus(c.get('deps'), {
      pageId, sid: f.MessageSid ?? f.SmsSid ?? null, status: f.MessageStatus ?? f.SmsStatus ?? null, answeredBy: null, errorCode: f.ErrorCode || null,
    });
  }
  return c.body(null, 204);
});

app.post('/webhooks/twilio/voice/status', async (c) => {
  const f = await signedForm(c);
  const pageId = pageOf(c);
  if (pageId) {
    await onStatus(c.get('deps'), {
      pageId, sid: f.CallSid ?? null, status: f.CallStatus ?? null, answeredBy: f.AnsweredBy || null, errorCode: f.ErrorCode || null,
    });
  }
  return c.body(null, 204);
});

app.post('/webhooks/twilio/voice/amd', async (c) => {
  const f = await signedForm(c);
  const pageId = pageOf(c);
  if (pageId && f.AnsweredBy) {
    await onStatus(c.get('deps'), { pageId, sid: f.CallSid ?? null, status: null, answeredBy: f.AnsweredBy, errorCode: null });
  }
  return c.body(null, 204);
});

app.post('/webhooks/twilio/voice/gather', async (c) => {
  const f = await signedForm(c);
  const pageId = pageOf(c);
  const deps = c.get('deps');
  const outcome = await onKeypress(deps, pageId, (f.Digits ?? '').trim(), f.CallSid || null);
  c.get('log').info({ pageId, result: outcome.result }, 'keypress');
  return xml(c, deps.twiml.say(outcome.say, outcome.language));
});

// The document's description of these routes. They are registered, not declared with
// createRoute, so that nothing validates the form before the signature check (and Twilio's
// extra fields are never refused): the handlers above stay exactly as they are.
app.openAPIRegistry.registerComponent('securitySchemes', 'twilioSignature', {
  type: 'apiKey', in: 'header', name: 'X-Twilio-Signature',
  description: 'Twilio’s signature of PUBLIC_BASE_URL + path + query and the form fields, made with the account’s auth token.',
});

const twilioForm = (fields: Record<string, string>) => ({
  required: true,
  content: {
    'application/x-www-form-urlencoded': {
      schema: z
        .looseObject(Object.fromEntries(Object.entries(fields).map(([k, d]) => [k, z.string().optional().openapi({ description: d })])))
        .openapi({ description: 'The fields Mayday reads; Twilio sends more, which are signed and otherwise ignored.' }),
    },
  },
});
const PageQuery = z.object({
  page: z.uuid().optional().openapi({ description: 'The page this callback is about (Mayday puts it in the URL it gives Twilio); another value is ignored.' }),
});
/** A callback Mayday asked for about an on-call readiness check's text or call (not a page). */
const ReadinessQuery = PageQuery.extend({
  readiness: z.uuid().optional().openapi({ description: 'The on-call readiness check this callback is about: its text failed or undelivered calls the responder instead; anything else about it is ignored.' }),
});
const ErrorJson = (description: string) => ({ description, content: { 'application/json': { schema: ErrorBody } } });
const refusals = {
  403: ErrorJson('X-Twilio-Signature is missing or does not match'),
  413: ErrorJson('Body over 64 KiB'),
  415: ErrorJson('Body is not application/x-www-form-urlencoded'),
  422: ErrorJson('A field the database cannot store, such as a NUL character'),
};
const twiml = (description: string) => ({ description, content: { 'text/xml': { schema: z.string().openapi({ description: 'TwiML' }) } } });
const hook = (o: { path: string; operationId: string; summary: string; fields: Record<string, string>; page?: boolean; readiness?: boolean; ok: Record<number, object> }) =>
  app.openAPIRegistry.registerPath({
    method: 'post', path: o.path, operationId: o.operationId, summary: o.summary, tags: ['twilio'], security: [{ twilioSignature: [] }],
    request: { ...(o.page ? { query: o.readiness ? ReadinessQuery : PageQuery } : {}), body: twilioForm(o.fields) },
    responses: { ...o.ok, ...refusals },
  });
const SID = 'The call’s sid';
hook({
  path: '/webhooks/twilio/sms', operationId: 'twilioInboundSms', summary: 'Twilio: an SMS to Mayday’s number (ACK, SAFE, HELP, SOS ...)',
  fields: { From: 'The sender’s phone (E.164)', Body: 'The text', MessageSid: 'The message’s sid', SmsSid: 'The message’s sid (older name)' },
  ok: { 200: twiml('The reply, if any, as a TwiML <Message>') },
});
hook({
  path: '/webhooks/twilio/status', operationId: 'twilioMessageStatus', summary: 'Twilio: the delivery status of a page’s SMS (or of an on-call readiness check’s)', page: true, readiness: true,
  fields: { MessageSid: 'The message’s sid', SmsSid: 'The message’s sid (older name)', MessageStatus: 'queued, sent, delivered, undelivered, failed ...', SmsStatus: 'The status (older name)', ErrorCode: 'Twilio’s error code, if any' },
  ok: { 204: { description: 'Recorded (or ignored when the page is unknown)' } },
});
hook({
  path: '/webhooks/twilio/voice/status', operationId: 'twilioCallStatus', summary: 'Twilio: the status of a page’s call', page: true, readiness: true,
  fields: { CallSid: SID, CallStatus: 'queued, ringing, in-progress, completed, busy, no-answer, failed ...', AnsweredBy: 'human, machine_start ... (answering-machine detection)', ErrorCode: 'Twilio’s error code, if any' },
  ok: { 204: { description: 'Recorded (or ignored when the page is unknown)' } },
});
hook({
  path: '/webhooks/twilio/voice/amd', operationId: 'twilioAnsweringMachine', summary: 'Twilio: who answered a page’s call (answering-machine detection)', page: true, readiness: true,
  fields: { CallSid: SID, AnsweredBy: 'human, machine_start, machine_end_beep, fax, unknown ...' },
  ok: { 204: { description: 'Recorded (or ignored when the page is unknown)' } },
});
hook({
  path: '/webhooks/twilio/voice/gather', operationId: 'twilioGather', summary: 'Twilio: the keys pressed on a page’s call (1 acknowledges)', page: true,
  fields: { CallSid: SID, Digits: 'The keys pressed' },
  ok: { 200: twiml('What the call says next, as TwiML <Say>') },
});

export default app;
