/** Rendering and the checks every console route makes: who is signed in, and whether a form is genuine. */
import type { Context } from 'hono';
import type { JSX } from 'hono/jsx/jsx-runtime';
import type { Principal, Role } from '../auth/principal';
import type { AppEnv } from '../http/context';
import { AppError } from '../errors';
import { can, checkCsrf, CONSOLE_ROLES, type Session } from './session';
import { Layout, type PageContext } from './views/layout';

export interface ConsoleEnv {
  Variables: AppEnv['Variables'] & { session?: Session; nonce: string; fragment?: boolean };
}
export type ConsoleContext = Context<ConsoleEnv>;

export function pageContext(c: ConsoleContext): PageContext {
  const s = c.get('session');
  return { viewer: s, nonce: c.get('nonce'), simulator: !!c.get('deps').simulator, path: c.req.path };
}

export async function page(c: ConsoleContext, title: string, body: JSX.Element, status = 200) {
  const doc = await (<Layout ctx={pageContext(c)} title={title}>{body}</Layout>).toString();
  return c.html(`<!doctype html>${doc}`, status as 200);
}

export const fragment = async (c: ConsoleContext, body: JSX.Element) => c.html(await body.toString());

/** The signed-in viewer, who must hold one of `roles`. */
export function viewer(c: ConsoleContext, roles: readonly Role[] = CONSOLE_ROLES): Principal {
  const s = c.get('session');
  if (!s) throw new AppError('unauthorized', 'Sign in to use the console.');
  if (!can(s.principal, roles)) throw new AppError('forbidden', 'Your role may not do this.');
  return s.principal;
}

/** A POSTed form, from a page rendered for this session (CSRF token checked). */
export async function form(c: ConsoleContext, roles: readonly Role[] = CONSOLE_ROLES): Promise<{ p: Principal; body: Record<string, string> }> {
  const s = c.get('session');
  if (!s) throw new AppError('unauthorized', 'Sign in to use the console.');
  const raw = await c.req.parseBody();
  if (!checkCsrf(s, raw.csrf)) throw new AppError('forbidden', 'This form has expired or came from another site. Go back, reload the page and try again.');
  const body: Record<string, string> = {};
  for (const [k, v] of Object.entries(raw)) if (typeof v === 'string') body[k] = v;
  return { p: viewer(c, roles), body };
}

