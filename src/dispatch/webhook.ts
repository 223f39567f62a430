/**
 * Noonlight's dispatch webhooks: the signature check and the events, read into what the timeline
 * records. Web Crypto only, so the same code runs on Node and on Cloudflare Workers.
 *
 * A delivery is a POST of a JSON array of `{event_id, event_type, event_time, meta: {alarm_id}}`,
 * signed in `X-Noonlight-Signature`: base64 HMAC-SHA256 with NOONLIGHT_WEBHOOK_SECRET. Noonlight
 * retries a delivery until it gets a 2xx, so the same `event_id` can arrive more than once; the
 * caller keeps each one once.
 */
import { z } from 'zod';
import { AppError } from '../errors';

export type DispatchEventType = 'psap_contacted' | 'closed' | 'canceled' | 'other';

export interface DispatchEvent {
  eventId: string;
  type: DispatchEventType;
  /** Noonlight's own name for the event (what `other` was). */
  noonlightType: string;
  /** When Noonlight received it, ISO 8601 UTC. */
  at: string;
  alarmId: string;
}

const TYPES: Record<string, DispatchEventType> = {
  'alarm.psap_contacted': 'psap_contacted',
  'alarm.closed': 'closed',
  'alarm.status.canceled': 'canceled',
};

const enc = new TextEncoder();
const bytesOf = (body: string | ArrayBuffer | Uint8Array) =>
  typeof body === 'string' ? enc.encode(body) : body instanceof Uint8Array ? body : new Uint8Array(body);

/** Both arrays equal, in a time that depends only on their lengths (an HMAC's length is no secret). */
function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i] ^ b[i];
  return diff === 0;
}

function fromBase64(s: string): Uint8Array | null {
  try {
    return Uint8Array.from(atob(s.trim()), (c) => c.charCodeAt(0));
  } catch {
    return null;
  }
}

/**
 * Whether `signature` (the X-Noonlight-Signature header) is the HMAC of this delivery with
 * `secret`. The raw body is checked first. Noonlight's own example checks the HMAC of the body
 * parsed and serialized again (`JSON.stringify(req.body)`), so that is accepted too: it holds
 * the same events, and making either needs the secret.
 */
export async function verifyNoonlightSignature(body: string | ArrayBuffer | Uint8Array, signature: string | null | undefined, secret: string): Promise<boolean> {
  if (!signature || !secret) return false;
  const given = fromBase64(signature);
  if (!given) return false;
  const key = await crypto.subtle.importKey('raw', enc.encode(secret), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
  const raw = bytesOf(body);
  const mac = async (data: Uint8Array) => new Uint8Array(await crypto.subtle.sign('HMAC', key, data));
  if (sameBytes(await mac(raw), given)) return true;
  let again: string;
  try {
    again = JSON.stringify(JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(raw)));
  } catch {
    return false;
  }
  return sameBytes(await mac(enc.encode(again)), given);
}

const id = z.string().trim().min(1).max(200);
const EventSchema = z.object({
  event_id: id,
  event_type: id,
  event_time: z.string().max(100).refine((t) => !Number.isNaN(Date.parse(t)), 'not a date'),
  meta: z.object({ alarm_id: id }),
});
/** An array, as documented; a single event object is read as an array of one. */
const DeliverySchema = z.union([z.array(EventSchema).max(1000), EventSchema.transform((e) => [e])]);

/**
 * The events of one delivery (already verified), in the order sent, each `event_id` once. A body
 * that is not JSON, or not events, is a 4xx (malformed_json, validation_failed).
 */
export function parseNoonlightEvents(body: string): DispatchEvent[] {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    throw new AppError('malformed_json', 'the webhook body is not JSON');
  }
  const parsed = DeliverySchema.safeParse(json);
  if (!parsed.success) {
    const first = parsed.error.issues[0];
    throw new AppError('validation_failed', `not Noonlight events: ${first ? `${first.path.join('.') || '(root)'} ${first.message}` : 'unreadable'}`);
  }
  const seen = new Set<string>();
  const events: DispatchEvent[] = [];
  for (const e of parsed.data) {
    if (seen.has(e.event_id)) continue;
    seen.add(e.event_id);
    events.push({
      eventId: e.event_id,
      type: TYPES[e.event_type] ?? 'other',
      noonlightType: e.event_type,
      at: new Date(e.event_time).toISOString(),
      alarmId: e.meta.alarm_id,
    });
  }
  return events;
}
