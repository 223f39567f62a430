import type { Child } from 'hono/jsx';
import type { Principal } from '../../auth/principal';
import { CSS, SCRIPT } from '../assets';
import { age as fmtAge, ROLE } from '../format';
import { can, ENROLLERS, PLAYERS, SAFETY_TEAM } from '../session';

export interface PageContext {
  /** Signed-in viewer, with the CSRF token every form of the page carries. */
  viewer?: { principal: Principal; csrf: string };
  /** Per-response nonce for the inline style and script (Content-Security-Policy). */
  nonce: string;
  simulator: boolean;
  /** Path of the page, for aria-current in the navigation. */
  path: string;
}

/** The hidden field every POST form carries. */
export const Csrf = ({ ctx }: { ctx: PageContext }) => <input type="hidden" name="csrf" value={ctx.viewer?.csrf ?? ''} />;

const NavLink = ({ href, path, children }: { href: string; path: string; children: Child }) => {
  const current = href === '/console' ? path === '/console' || path === '/console/' : path.startsWith(href);
  return (
    <li>
      <a href={href} aria-current={current ? 'page' : undefined}>{children}</a>
    </li>
  );
};

export function Layout({ ctx, title, children }: { ctx: PageContext; title: string; children: Child }) {
  const p = ctx.viewer?.principal;
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <meta name="referrer" content="same-origin" />
        <title>{`${title} · Mayday console`}</title>
        <style nonce={ctx.nonce} dangerouslySetInnerHTML={{ __html: CSS }} />
      </head>
      <body>
        <a class="skip" href="#main">Skip to content</a>
        <header class="top">
          <a class="brand" href="/console">Mayday</a>
          {p && (
            <nav aria-label="Console">
              <ul>
                <NavLink href="/console" path={ctx.path}>Board</NavLink>
                {can(p, ENROLLERS) && <NavLink href="/console/drivers" path={ctx.path}>Drivers</NavLink>}
                {can(p, SAFETY_TEAM) && <NavLink href="/console/safety" path={ctx.path}>Safety team</NavLink>}
                {ctx.simulator && can(p, PLAYERS) && <NavLink href="/console/phones" path={ctx.path}>Phone simulator</NavLink>}
              </ul>
            </nav>
          )}
          {p && (
            <div class="who">
              <span>
                {p.name} ({ROLE[p.role] ?? p.role})
              </span>
              <form method="post" action="/console/sign-out" class="inline">
                <Csrf ctx={ctx} />
                <button type="submit">Sign out</button>
              </form>
            </div>
          )}
        </header>
        <main id="main" tabindex={-1}>
          {children}
        </main>
        <script nonce={ctx.nonce} dangerouslySetInnerHTML={{ __html: SCRIPT }} />
      </body>
    </html>
  );
}

/** A notice above the page's content (after a form, or an error). */
export const Notice = ({ kind, children }: { kind?: 'good' | 'bad'; children: Child }) => (
  <p class={`notice${kind ? ` ${kind}` : ''}`} role={kind === 'bad' ? 'alert' : 'status'}>{children}</p>
);

/** A ticking age: rendered by the server, kept current by the page's script. */
export const Since = ({ at, now }: { at: string; now: number }) => {
  const ms = now - Date.parse(at);
  return <span data-since={at}>{fmtAge(ms)}</span>;
};
