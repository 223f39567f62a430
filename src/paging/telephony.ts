/**
 * The telephony port that paging owns: what Mayday needs from a provider. Twilio
 * (src/adapters/twilio) implements it on Node and Workers alike; without credentials the built-in
 * phone simulator (src/simulator) stands in.
 */
export type SendResult =
  | { ok: true; sid: string }
  /** retry: not taken (429, 5xx, connection refused), safe to send again. permanent: never will be
   *  (invalid or opted-out number...). unknown: may or may not have been taken (timeout). */
  | { ok: false; kind: 'retry' | 'permanent' | 'unknown'; status?: number; code?: string; message: string };

export interface SmsRequest {
  pageId?: string;
  to: string;
  body: string;
  statusCallback?: string;
}

export interface CallRequest {
  pageId: string;
  to: string;
  twiml: string;
  /** What the call says, as text (the simulator shows it). */
  script: string;
  statusCallback: string;
  amdCallback: string;
}

export interface Telephony {
  readonly kind: 'twilio' | 'simulator';
  sendSms(req: SmsRequest): Promise<SendResult>;
  placeCall(req: CallRequest): Promise<SendResult>;
  /** Check X-Twilio-Signature against the exact URL Twilio requested and the form fields. */
  validateSignature(url: string, params: Record<string, string>, signature: string | undefined): boolean;
}

/**
 * TwiML builders (XML that Twilio executes), kept apart so each runtime can supply its own.
 * `language` is the locale every <Say> is spoken in (en-US, es-MX).
 */
export interface TwimlBuilder {
  message(text?: string): string;
  say(text: string, language: string): string;
  /** Says `script` while gathering one digit, then `noKey` if none came. */
  pageCall(opts: { script: string; noKey: string; language: string; gatherAction: string }): string;
}
