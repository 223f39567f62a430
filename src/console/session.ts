/**
 * Console sessions: the bearer token itself, in an HttpOnly, SameSite=Strict cookie scoped to
 * /console (Secure when Mayday is reached over https). Nothing is stored server-side, so any
 * instance serves any session and revoking the token ends the session.
 *
 * Forms carry a CSRF token derived from the session token (HMAC-SHA256 keyed with it): only a
 * page rendered for this session knows it, on top of SameSite=Strict and hono's origin check.
 */
import type { Context } from 'hono';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import { timingSafeEqual } from '../auth/crypto';
import type { Principal, Role } from '../auth/principal';
import type { Deps } from '../deps';

export const SESSION_COOKIE = 'mayday_console';
/** A random value set with the sign-in form and echoed by it: the sign-in POST has no session yet. */
export const SIGNIN_COOKIE = 'mayday_console_signin';
export const COOKIE_PATH = '/console';
/** A supervisor's shift, then sign in again. */
export const SESSION_SECONDS = 12 * 60 * 60;

/** Who may use the console: responders, the safety team and the administrator. Never drivers or support agents. */
export const CONSOLE_ROLES = ['supervisor', 'safety_lead', 'auditor', 'admin'] as const satisfies readonly Role[];
export const RESPONDERS = ['supervisor', 'safety_lead'] as const satisfies readonly Role[];
export const SAFETY_TEAM = ['auditor', 'safety_lead', 'admin'] as const satisfies readonly Role[];
/**
 * Who may open the phone simulator: everyone who works incidents. A supervisor or safety lead
 * plays only their own phone there; the administrator plays every part (src/simulator).
 */
export const PLAYERS = ['admin', 'supervisor', 'safety_lead'] as const satisfies readonly Role[];
/** The demo SOS is sent as the demo driver: acting as someone else is the administrator's. */
export const DEMO_PLAYERS = ['admin'] as const satisfies readonly Role[];

export const can = (p: Principal, roles: readonly Role[]) => roles.includes(p.role);

export interface Session {
  principal: Principal;
  csrf: string;
}

const enc = new TextEncoder();

export async function csrfFor(token: string): Promise<string> {
  const key = await crypto.subtle.importKey('raw', enc.encode(token), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
  const mac = await crypto.subtle.sign('HMAC', key, enc.encode('mayday-console-csrf-v1'));
  return Array.from(new Uint8Array(mac), (b) => b.toString(16).padStart(2, '0')).join('');
}

export const checkCsrf = (session: Session, sent: unknown) => typeof sent === 'string' && timingSafeEqual(sent, session.csrf);

/** https as seen by the browser: the request itself, or the public URL of a TLS-terminating proxy. */
export const isHttps = (c: Context, deps: Deps) => new URL(c.req.url).protocol === 'https:' || deps.publicBaseUrl.startsWith('https:');

const cookieOptions = (c: Context, deps: Deps) => ({
  path: COOKIE_PATH,
  httpOnly: true,
  sameSite: 'Strict' as const,
  secure: isHttps(c, deps),
});

export function startSession(c: Context, deps: Deps, token: string) {
  setCookie(c, SESSION_COOKIE, token, { ...cookieOptions(c, deps), maxAge: SESSION_SECONDS });
  deleteCookie(c, SIGNIN_COOKIE, cookieOptions(c, deps));
}

export function endSession(c: Context, deps: Deps) {
  deleteCookie(c, SESSION_COOKIE, cookieOptions(c, deps));
}

/** The session of this request, if its cookie holds a live token of a console role. */
export async function readSession(c: Context, deps: Deps): Promise<Session | undefined> {
  const token = getCookie(c, SESSION_COOKIE);
  if (!token || token.length > 512) return undefined;
  const principal = await deps.auth.authenticate(token);
  if (!principal || !can(principal, CONSOLE_ROLES)) return undefined;
  return { principal, csrf: await csrfFor(token) };
}

/** The sign-in form's nonce: set with the form, checked (and dropped) on POST. */
export function issueSignInNonce(c: Context, deps: Deps): string {
  const nonce = Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, '0')).join('');
  setCookie(c, SIGNIN_COOKIE, nonce, { ...cookieOptions(c, deps), maxAge: 60 * 60 });
  return nonce;
}

export function checkSignInNonce(c: Context, sent: unknown): boolean {
  const want = getCookie(c, SIGNIN_COOKIE);
  return typeof sent === 'string' && !!want && timingSafeEqual(sent, want);
}
