/**
 * The web console under /console: supervisors and the safety team work Mayday in a browser.
 * Server-rendered pages (hono/jsx), plain HTML forms, one small inline script for live updates.
 * Every page calls the same domain functions as the JSON API, with the same role rules.
 */
import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { csrf } from 'hono/csrf';
import { HTTPException } from 'hono/http-exception';
import { z } from 'zod';
import type { Principal } from '../auth/principal';
import type { Deps } from '../deps';
import { DEMO } from '../demo/seed';
import { AppError } from '../errors';
import { toAppError } from '../http/errors';
import { latestDispatch, latestDispatches, mayRequestDispatch, playSimulatedDispatch, requestDispatch } from '../dispatch/service';
import type { ServiceName } from '../dispatch/store';
import { acknowledge, resolve } from '../incidents/lifecycle';
import { DISPOSITIONS } from '../incidents/schemas';
import { openSos } from '../incidents/service';
import { getIncidentFor, listIncidentsFor } from '../incidents/store';
import { listPages } from '../paging/store';
import { zonesReadiness } from '../readiness/store';
import { listEvents, verifyTimeline } from '../timeline/store';
import { Phone } from '../users/schemas';
import { getZone } from '../zones/store';
import { boardOrder } from './format';
import { changeStream } from './live';
import { drivers } from './drivers';
import { safety } from './safety';
import { fragment, form, page, pageContext, viewer, type ConsoleContext, type ConsoleEnv } from './render';
import { can, checkSignInNonce, CONSOLE_ROLES, DEMO_PLAYERS, endSession, issueSignInNonce, PLAYERS, readSession, RESPONDERS, startSession } from './session';
import { demoDriver, incidentFacts, knownPhones, namesOf, phoneOfCall, trail } from './store';
import { BoardLive, BoardPage, type BoardRow } from './views/board';
import { IncidentLive, IncidentPage, type IncidentData } from './views/incident';
import { ErrorPage, PhonePage, PhonesList, PhonesPage, SignInPage, Thread } from './views/pages';
import { idsIn } from './views/timeline';

const app = new Hono<ConsoleEnv>();

const nonce = () => btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(16))));

// Security headers on every console answer, errors included.
app.use('*', async (c, next) => {
  const n = nonce();
  c.set('nonce', n);
  c.header(
    'Content-Security-Policy',
    `default-src 'none'; script-src 'nonce-${n}'; style-src 'nonce-${n}'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'`,
  );
  c.header('X-Frame-Options', 'DENY');
  c.header('X-Content-Type-Options', 'nosniff');
  c.header('Referrer-Policy', 'same-origin');
  c.header('Cache-Control', 'no-store');
  await next();
});
app.use('*', bodyLimit({ maxSize: 64 * 1024, onError: () => { throw new AppError('payload_too_large', 'form too large'); } }));
// Cross-site form posts are refused before anything reads them (origin / Sec-Fetch-Site check);
// each POST below also checks its session's CSRF token.
app.use(
  '*',
  csrf({
    origin: (origin, c) => origin === new URL(c.req.url).origin || origin === new URL((c.get('deps') as Deps).publicBaseUrl).origin,
  }),
);
app.use('*', async (c, next) => {
  const session = await readSession(c, c.get('deps'));
  c.set('session', session);
  if (session) c.set('log', c.get('log').child({ role: session.principal.role, principalId: session.principal.id, via: 'console' }));
  await next();
});

// ---------------------------------------------------------------------------------------------
// Helpers

const deps = (c: ConsoleContext) => c.get('deps');

const Uuid = z.uuid();
const idParam = (c: ConsoleContext) => {
  const r = Uuid.safeParse(c.req.param('id'));
  if (!r.success) throw new AppError('not_found', 'incident not found');
  return r.data.toLowerCase();
};

function simulator(c: ConsoleContext) {
  const s = deps(c).simulator;
  if (!s) throw new AppError('not_found', 'The phone simulator is off: Mayday is sending real texts and calls through Twilio.');
  return s;
}

const see = (path: string) => (c: ConsoleContext) => c.redirect(path, 303);

// ---------------------------------------------------------------------------------------------
// Signing in and out

app.get('/sign-in', async (c) => {
  if (c.get('session')) return c.redirect('/console', 303);
  const n = issueSignInNonce(c, deps(c));
  return page(c, 'Sign in', <SignInPage nonce={n} notice={c.req.query('n')} />);
});

app.post('/sign-in', async (c) => {
  const d = deps(c);
  const raw = await c.req.parseBody();
  const again = (error: string, status: number) => page(c, 'Sign in', <SignInPage nonce={issueSignInNonce(c, d)} error={error} />, status);
  if (!checkSignInNonce(c, raw.nonce)) return again('The sign-in form expired. Please try again.', 403);
  const token = typeof raw.token === 'string' ? raw.token.trim() : '';
  const p = token && token.length <= 512 ? await d.auth.authenticate(token) : undefined;
  if (!p) return again('That token is unknown or has been revoked.', 401);
  if (!can(p, CONSOLE_ROLES)) {
    c.get('log').info({ role: p.role }, 'console sign-in refused for role');
    return again(
      p.role === 'driver'
        ? 'Drivers cannot sign in to the console. In danger? Press SOS in the Mayday app or text SOS.'
        : 'Support agents cannot sign in to the console.',
      403,
    );
  }
  await startSession(c, d, token, p);
  c.get('log').info({ role: p.role, principalId: p.id }, 'console sign-in');
  return c.redirect('/console', 303);
});

app.post('/sign-out', async (c) => {
  if (c.get('session')) await form(c);
  await endSession(c, deps(c));
  return c.redirect('/console/sign-in?n=signed-out', 303);
});

// ---------------------------------------------------------------------------------------------
// The board

async function boardRows(c: ConsoleContext, p: Principal): Promise<BoardRow[]> {
  const sql = deps(c).sql;
  const incidents = await listIncidentsFor(sql, p, { status: 'active', limit: 500 });
  const ids = incidents.map((i) => i.id);
  const [facts, dispatches] = await Promise.all([incidentFacts(sql, ids), latestDispatches(sql, ids)]);
  return incidents.sort(boardOrder).flatMap((incident) => {
    const f = facts.get(incident.id);
    return f ? [{ incident, facts: f, dispatch: dispatches.get(incident.id) }] : [];
  });
}

async function demoAvailable(c: ConsoleContext, p: Principal) {
  if (!deps(c).simulator || !can(p, DEMO_PLAYERS)) return undefined;
  return demoDriver(deps(c).sql);
}

app.get('/', async (c) => {
  const p = viewer(c);
  const [rows, demo, readiness] = await Promise.all([boardRows(c, p), demoAvailable(c, p), zonesReadiness(deps(c).sql)]);
  return page(c, 'Board', <BoardPage ctx={pageContext(c)} rows={rows} now={Date.now()} demo={demo} notice={c.req.query('n')} readiness={readiness} />);
});

app.get('/board', async (c) => {
  c.set('fragment', true);
  const p = viewer(c);
  const [rows, readiness] = await Promise.all([boardRows(c, p), zonesReadiness(deps(c).sql)]);
  return fragment(c, <BoardLive rows={rows} now={Date.now()} readiness={readiness} />);
});

app.get('/events', (c) => {
  c.set('fragment', true);
  viewer(c);
  return changeStream(c, deps(c), { session: c.get('session')!.idHash });
});

// ---------------------------------------------------------------------------------------------
// An incident

async function incidentData(c: ConsoleContext, p: Principal, id: string): Promise<IncidentData> {
  const sql = deps(c).sql;
  const incident = await getIncidentFor(sql, p, id); // 404 unless the viewer may see it
  const [facts, events, pages, fixes, verify, zone, dispatch, canDispatch] = await Promise.all([
    incidentFacts(sql, [id]),
    listEvents(sql, id),
    listPages(sql, id),
    trail(sql, id),
    verifyTimeline(sql, id),
    incident.zoneId ? getZone(sql, incident.zoneId).catch(() => undefined) : undefined,
    latestDispatch(sql, id),
    mayRequestDispatch(deps(c), p, id),
  ]);
  const names = await namesOf(sql, [...idsIn(events), ...pages.map((pg) => pg.recipientId)]);
  return {
    incident, facts: facts.get(id)!, events, pages, fixes, verify, boundary: zone?.boundary ?? null, names,
    dispatch, canDispatch, dispatchSimulator: !!deps(c).dispatch?.simulator && p.role === 'admin',
  };
}

app.get('/incidents/:id', async (c) => {
  const p = viewer(c);
  const d = await incidentData(c, p, idParam(c));
  return page(
    c,
    `#${d.incident.code}`,
    <IncidentPage ctx={pageContext(c)} d={d} now={Date.now()} canAct={can(p, RESPONDERS)} notice={c.req.query('n')} />,
  );
});

app.get('/incidents/:id/live', async (c) => {
  c.set('fragment', true);
  const p = viewer(c);
  const d = await incidentData(c, p, idParam(c));
  return fragment(c, <IncidentLive ctx={pageContext(c)} d={d} now={Date.now()} canAct={can(p, RESPONDERS)} />);
});

app.post('/incidents/:id/ack', async (c) => {
  const { p } = await form(c, RESPONDERS);
  const id = idParam(c);
  const incident = await acknowledge(deps(c), p, id);
  c.get('log').info({ incidentId: incident.id, via: 'console' }, 'acknowledged');
  return see(`/console/incidents/${id}?n=acknowledged`)(c);
});

const ResolveForm = z.object({
  disposition: z.enum(DISPOSITIONS, { error: 'choose a disposition' }),
  note: z.string().trim().max(4000).optional().transform((s) => (s ? s : undefined)),
});

app.post('/incidents/:id/resolve', async (c) => {
  const { p, body } = await form(c, RESPONDERS);
  const id = idParam(c);
  const r = ResolveForm.safeParse(body);
  if (!r.success) throw new AppError('validation_failed', `Not resolved: ${r.error.issues[0]?.message ?? 'invalid form'}.`);
  const incident = await resolve(deps(c), p, id, r.data);
  c.get('log').info({ incidentId: incident.id, disposition: incident.disposition, via: 'console' }, 'resolved');
  return see(`/console/incidents/${id}?n=resolved`)(c);
});

const DISPATCHERS = ['admin', 'supervisor', 'safety_lead'] as const;

app.post('/incidents/:id/dispatch', async (c) => {
  const { p, body } = await form(c, DISPATCHERS);
  const id = idParam(c);
  const services = (['police', 'fire', 'medical'] as const).filter((s) => body[s] === 'on') as ServiceName[];
  if (services.length === 0) throw new AppError('validation_failed', 'Nothing requested: choose police, fire or medical.');
  const note = body.note?.trim().slice(0, 500) || undefined;
  const { created, dispatch } = await requestDispatch(deps(c), p, id, { services, note }, 'console');
  c.get('log').info({ incidentId: id, dispatchId: dispatch.id, status: dispatch.status, via: 'console' }, 'dispatch requested');
  return see(`/console/incidents/${id}?n=${!created ? 'dispatch-already' : dispatch.status === 'failed' ? 'dispatch-failed' : 'dispatch-requested'}`)(c);
});

const SimulatedDispatchForm = z.object({ action: z.enum(['psap_contacted', 'closed', 'canceled', 'refused']) });

app.post('/incidents/:id/dispatch/simulator', async (c) => {
  const { p, body } = await form(c, ['admin']);
  const id = idParam(c);
  const r = SimulatedDispatchForm.safeParse(body);
  if (!r.success) throw new AppError('validation_failed', 'Unknown dispatcher action.');
  await getIncidentFor(deps(c).sql, p, id);
  await playSimulatedDispatch(deps(c), id, r.data.action);
  return see(`/console/incidents/${id}?n=dispatch-${r.data.action}`)(c);
});

// ---------------------------------------------------------------------------------------------
// The demo: a real SOS from the demo driver, through the one intake path

app.post('/demo/sos', async (c) => {
  const { p } = await form(c, DEMO_PLAYERS);
  const d = deps(c);
  const sim = simulator(c);
  const driver = await demoDriver(d.sql);
  if (!driver) throw new AppError('not_found', 'There is no demo data in this database.');
  const { incident, created } = await openSos(d, { id: driver.id, role: 'driver', name: driver.name }, {
    clientRequestId: crypto.randomUUID(),
    kind: 'robbery',
    location: { lat: DEMO.here.lat, lng: DEMO.here.lng, accuracyM: 12 },
    source: 'app',
  }, { claim: false });
  if (created) d.pager.queued({ incidentId: incident.id });
  await sim.recordDemoSos(p, DEMO.driver.phone, incident.id);
  c.get('log').info({ incidentId: incident.id, code: incident.code, by: p.id }, 'demo sos from the console');
  return see('/console?n=demo')(c);
});

// ---------------------------------------------------------------------------------------------
// The phone simulator

const phoneParam = (c: ConsoleContext) => {
  const r = Phone.safeParse(c.req.param('phone'));
  if (!r.success) throw new AppError('not_found', 'no such phone number');
  return r.data;
};

/** The phones the viewer may play: every one for the administrator, only their own for a responder. */
async function phones(c: ConsoleContext) {
  const sim = simulator(c);
  return sim.visiblePhones(viewer(c), await knownPhones(deps(c).sql, await sim.phones()));
}

app.get('/phones', async (c) => {
  const p = viewer(c, PLAYERS);
  return page(c, 'Phone simulator', <PhonesPage phones={await phones(c)} now={Date.now()} ownOnly={p.role !== 'admin'} />);
});

app.get('/phones/list', async (c) => {
  c.set('fragment', true);
  viewer(c, PLAYERS);
  return fragment(c, <PhonesList phones={await phones(c)} now={Date.now()} />);
});

app.get('/phones/:phone', async (c) => {
  const p = viewer(c, PLAYERS);
  const phone = phoneParam(c);
  const [thread, all] = await Promise.all([simulator(c).listAs(p, phone), phones(c)]);
  const owner = all.find((x) => x.phone === phone);
  return page(c, owner?.name ?? phone, <PhonePage ctx={pageContext(c)} phone={phone} owner={owner} thread={thread} notice={c.req.query('n')} />);
});

app.get('/phones/:phone/thread', async (c) => {
  c.set('fragment', true);
  const p = viewer(c, PLAYERS);
  const phone = phoneParam(c);
  return fragment(c, <Thread ctx={pageContext(c)} phone={phone} thread={await simulator(c).listAs(p, phone)} />);
});

const phonePath = (phone: string) => `/console/phones/${encodeURIComponent(phone)}`;

app.post('/phones/:phone/sms', async (c) => {
  const { p, body } = await form(c, PLAYERS);
  const phone = phoneParam(c);
  const text = (body.body ?? '').trim();
  if (text.length < 1 || text.length > 1600) throw new AppError('validation_failed', 'Type a text of 1 to 1600 characters.');
  await simulator(c).textAs(p, phone, text);
  return see(phonePath(phone))(c);
});

const Sid = z.string().regex(/^CA[0-9a-f]{32}$/);
const sidParam = (c: ConsoleContext) => {
  const r = Sid.safeParse(c.req.param('sid'));
  if (!r.success) throw new AppError('not_found', 'no such call');
  return r.data;
};

app.post('/calls/:sid/digits', async (c) => {
  const { p, body } = await form(c, PLAYERS);
  const sid = sidParam(c);
  const digits = (body.digits ?? '').trim();
  if (!/^[0-9*#]{1,8}$/.test(digits)) throw new AppError('validation_failed', 'Press 1 to 8 keys: digits, * or #.');
  const phone = await phoneOfCall(deps(c).sql, sid);
  const out = await simulator(c).pressAs(p, sid, digits);
  return see(`${phone ? phonePath(phone) : '/console/phones'}?n=${encodeURIComponent(out.result)}`)(c);
});

app.post('/calls/:sid/hangup', async (c) => {
  const { p } = await form(c, PLAYERS);
  const sid = sidParam(c);
  const phone = await phoneOfCall(deps(c).sql, sid);
  await simulator(c).hangupAs(p, sid);
  return see(`${phone ? phonePath(phone) : '/console/phones'}?n=hung-up`)(c);
});

// ---------------------------------------------------------------------------------------------
// The safety team's pages, the drivers' app links, then anything else

app.route('/', safety);
app.route('/', drivers);

app.all('*', (c) => {
  // "/console/" and friends: the same page without the trailing slash.
  const url = new URL(c.req.url);
  if (c.req.method === 'GET' && url.pathname.endsWith('/') && /^\/console\/[\w/-]*$/.test(url.pathname)) {
    return c.redirect(url.pathname.replace(/\/+$/, '') + url.search, 308);
  }
  throw new AppError('not_found', 'There is no console page here.');
});

const TITLES: Record<number, string> = {
  400: 'That did not work', 401: 'Please sign in', 403: 'Not allowed', 404: 'Not found', 409: 'Already done by someone else',
  413: 'Too large', 422: 'Please check the form', 503: 'Mayday is busy', 500: 'Something went wrong',
};

// Errors are pages here (the JSON API keeps its one error body).
app.onError(async (err, c) => {
  const log = c.get('log') ?? deps(c).log;
  if (err instanceof HTTPException && err.status === 403) {
    log.warn({ origin: c.req.header('origin') }, 'console: cross-site form refused');
    return page(c, 'Not allowed', <ErrorPage status={403} title="Not allowed" message="This form was sent from another site, so Mayday refused it." />, 403);
  }
  const e = toAppError(err, log);
  if (e.status >= 500) log.warn({ code: e.code }, e.message);
  if (c.get('fragment')) return c.text(e.message, e.status);
  if (e.code === 'unauthorized' && c.req.method === 'GET') return c.redirect('/console/sign-in', 303);
  const message = e.code === 'conflict' ? `${e.message[0].toUpperCase()}${e.message.slice(1)}. Reload the page to see where it stands.` : e.message;
  return page(c, TITLES[e.status] ?? 'Error', <ErrorPage status={e.status} title={TITLES[e.status] ?? 'Error'} message={message} signIn={e.code === 'unauthorized'} />, e.status);
});

export default app;
