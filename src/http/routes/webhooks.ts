import type { Context } from 'hono';
import { Hono } from 'hono';
import { handleInboundSms } from '../../inbound/sms';
import { maskPhone } from '../../log';
import { onKeypress } from '../../inbound/keypress';
import { onStatus } from '../../paging/callbacks';
import type { AppEnv } from '../context';
import { AppError } from '../../errors';

/**
 * Twilio's webhooks. Every request is checked against X-Twilio-Signature using the exact URL
 * Twilio was given (PUBLIC_BASE_URL + path + query) before anything else happens: a bad or
 * missing signature gets 403 and changes nothing.
 */
const app = new Hono<AppEnv>();

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
  const outcome = pageId ? await onKeypress(deps, pageId, (f.Digits ?? '').trim(), f.CallSid || null) : { result: 'unknown', say: 'Goodbye.' };
  c.get('log').info({ pageId, result: outcome.result }, 'keypress');
  return xml(c, deps.twiml.say(outcome.say));
});

export default app;
