/**
 * Console sessions, kept server-side (console_sessions, sql/017): the cookie holds a random
 * session id, never the API token signed in with, so a copied cookie is no bearer token for /v1
 * and dies with the session. Only the id's SHA-256 is stored. A session ends at sign-out (its row
 * is deleted), after CONSOLE_SESSION_IDLE_MINUTES unused, CONSOLE_SESSION_MAX_HOURS after sign-in,
 * or when the token it was opened with is revoked. Any instance serves any session (the database).
 * The cookie is HttpOnly, SameSite=Strict, scoped to /console, and Secure when Mayday is reached
 * over https (the request, PUBLIC_BASE_URL, or X-Forwarded-Proto from a proxy trusted by TRUST_PROXY).
 *
 * Forms carry a CSRF token derived from the session id (HMAC-SHA256 keyed with it): only a
 * page rendered for this session knows it, on top of SameSite=Strict and hono's origin check.
 */
import type { Context } from 'hono';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import { sha256Hex, timingSafeEqual } from '../auth/crypto';
import type { Principal, Role } from '../auth/principal';
import type { Deps } from '../deps';
import { createSession, deleteSession, liveSession } from './store';

export const SESSION_COOKIE = 'mayday_console';
/** A random value set with the sign-in form and echoed by it: the sign-in POST has no session yet. */
export const SIGNIN_COOKIE = 'mayday_console_signin';
export const COOKIE_PATH = '/console';
/** Defaults of Deps.console: 30 minutes unused, or a supervisor's shift (12 h), then sign in again. */
export const SESSION_IDLE_SECONDS = 30 * 60;
export const SESSION_MAX_SECONDS = 12 * 60 * 60;

/** Who may use the console: responders, the safety team and the administrator. Never drivers or support agents. */
export const CONSOLE_ROLES = ['supervisor', 'safety_lead', 'auditor', 'admin'] as const satisfies readonly Role[];
export const RESPONDERS = ['supervisor', 'safety_lead'] as const satisfies readonly Role[];
export const SAFETY_TEAM = ['auditor', 'safety_lead', 'admin'] as const satisfies readonly Role[];
/**
 * Who may open the phone simulator: everyone who works incidents. A supervisor or safety lead
 * plays only their own phone there; the administrator plays every part (src/simulator).
 */
export const PLAYERS = ['admin', 'supervisor', 'safety_lead'] as const satisfies readonly Role[];
/** Who enrolls drivers' phones in the app and signs them out (as POST /v1/drivers/{id}/enrollments). */
export const ENROLLERS = ['admin', 'safety_lead'] as const satisfies readonly Role[];
/** The demo SOS is sent as the demo driver: acting as someone else is the administrator's. */
export const DEMO_PLAYERS = ['admin'] as const satisfies readonly Role[];

export const can = (p: Principal, roles: readonly Role[]) => roles.includes(p.role);

export interface Session {
  principal: Principal;
  csrf: string;
  /** The stored hash of the session id: what the event streams are counted by. */
  idHash: string;
}

const enc = new TextEncoder();

export async function csrfFor(sessionId: string): Promise<string> {
  const key = await crypto.subtle.importKey('raw', enc.encode(sessionId), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
  const mac = await crypto.subtle.sign('HMAC', key, enc.encode('mayday-console-csrf-v1'));
  return Array.from(new Uint8Array(mac), (b) => b.toString(16).padStart(2, '0')).join('');
}

export const checkCsrf = (session: Session, sent: unknown) => typeof sent === 'string' && timingSafeEqual(sent, session.csrf);

const limits = (deps: Deps) => ({
  idle: deps.console?.sessionIdleSeconds ?? SESSION_IDLE_SECONDS,
  max: deps.console?.sessionMaxSeconds ?? SESSION_MAX_SECONDS,
});

/**
 * https as seen by the browser: the request itself, the public URL of a TLS-terminating proxy,
 * or, only when the proxy is trusted (TRUST_PROXY), its X-Forwarded-Proto; anyone can send that
 * header to a service reached directly.
 */
export function isHttps(c: Context, deps: Deps): boolean {
  if (new URL(c.req.url).protocol === 'https:' || deps.publicBaseUrl.startsWith('https:')) return true;
  const forwarded = c.req.header('x-forwarded-proto')?.split(',')[0]?.trim().toLowerCase();
  return !!deps.console?.trustProxy && forwarded === 'https';
}

const cookieOptions = (c: Context, deps: Deps) => ({
  path: COOKIE_PATH,
  httpOnly: true,
  sameSite: 'Strict' as const,
  secure: isHttps(c, deps),
});

const SESSION_ID = /^[A-Za-z0-9_-]{43}$/;
const newSessionId = () =>
  btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(32)))).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');

/** A new session for whoever holds `token` (already authenticated as `p`): stored, and its id set in the cookie. */
export async function startSession(c: Context, deps: Deps, token: string, p: Principal): Promise<void> {
  const id = newSessionId();
  const { idle, max } = limits(deps);
  await createSession(deps.sql, await sha256Hex(id), await sha256Hex(token), p.role === 'admin' ? null : p.id, idle, max);
  setCookie(c, SESSION_COOKIE, id, { ...cookieOptions(c, deps), maxAge: max });
  deleteCookie(c, SIGNIN_COOKIE, cookieOptions(c, deps));
}

/** Sign-out: the session's row is deleted, so its cookie, wherever it was copied, is dead. */
export async function endSession(c: Context, deps: Deps): Promise<void> {
  const id = getCookie(c, SESSION_COOKIE);
  if (id && SESSION_ID.test(id)) await deleteSession(deps.sql, await sha256Hex(id));
  deleteCookie(c, SESSION_COOKIE, cookieOptions(c, deps));
}

/** The session of this request: a live session whose token still belongs to a console role. */
export async function readSession(c: Context, deps: Deps): Promise<Session | undefined> {
  const id = getCookie(c, SESSION_COOKIE);
  if (!id || !SESSION_ID.test(id)) return undefined;
  const idHash = await sha256Hex(id);
  const { idle, max } = limits(deps);
  const row = await liveSession(deps.sql, idHash, idle, max);
  if (!row) return undefined;
  let principal: Principal | undefined;
  if (row.user_id === null) principal = (await deps.auth.isAdminHash(row.token_hash)) ? ADMIN : undefined;
  else {
    const p = await deps.auth.byHash(row.token_hash); // undefined once the token is revoked
    principal = p?.id === row.user_id ? p : undefined;
  }
  if (!principal || !can(principal, CONSOLE_ROLES)) return undefined;
  return { principal, csrf: await csrfFor(id), idHash };
}

const ADMIN: Principal = { id: 'admin', role: 'admin', name: 'Administrator' };

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
