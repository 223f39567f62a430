/**
 * `npm run bench:app`: what the driver app adds to an SOS. In Chromium, from the moment the 1 s
 * hold completes (a pointer released then is the press; the app sends at once) to the SOS's 201,
 * against the same request made by fetch from this Node process. Goal: app / Node <= 1.2 at p50
 * and p99.
 *
 * Set-up: Mayday as a child process (src/entry/node.ts, phone simulator, no demo) on a scratch
 * database; one zone with a supervisor on call (so every SOS queues and claims its first SMS and
 * call, as in production) and a safety lead. Debian's Chromium (/usr/bin/chromium) driven by
 * playwright-core, headless, in a phone-size context (390×844, touch, scale 2, as the browser
 * tests) with geolocation granted inside the zone.
 *
 * Each press is a new driver's first SOS, in a new browser context: the driver is enrolled from
 * a fresh link (/app/enroll#<code>); the app must reach `idle` with its service worker in control
 * (reloaded at /app/ once if not: an installed app opened again); the network goes quiet, then
 * BENCH_SETTLE_MS more; the mouse goes down on the button named "SOS…", the script waits for the
 * app's `mayday:sos:armed` mark, releases the mouse and waits for `mayday:sos:stored` (the 201).
 * Why new drivers and new contexts rather than cancelling and clearing one app's storage: a real
 * driver presses rarely, so the SOS has no open incident to link (one driver pressing 200 times
 * would link and lock behind its earlier incidents), and nothing of the previous press (a queued
 * SOS, the incident's poll, the location stream) runs during the next measurement. The token is
 * in Mayday's 5 s cache, because the app's GET /v1/app/me on opening has just used it.
 *
 * What is printed for the app: armed → stored, both marks on the page's own clock; mouse.up →
 * stored, through the page-clock offset measured just before each press (both clocks are epoch
 * based; the offset is printed); and armed → stored in three parts by the page's Resource Timing
 * of its POST /v1/sos (the app's work before fetch() is called, the request as Chromium makes it,
 * the work after the answer). The armed mark is watched by requestAnimationFrame polling (the
 * hold's ring animates anyway), the stored mark every 50 ms (its time is the mark's, not the poll's).
 *
 * The Node baseline follows each press (one press, one Node request, so both meet the same
 * machine state): another new driver, enrolled the same way (POST /v1/app/enroll: the same
 * device-token kind), GET /v1/app/me as the app does (the token cached for both), the body the
 * app has just sent with a fresh clientRequestId (the same shape), the same settle; timed from
 * the call of fetch to the whole answer read. Each incident is resolved by the safety lead after
 * its measurement, so no paging, check-in or escalation of earlier presses runs behind later ones.
 *
 * Database: DATABASE_URL if set (a scratch database mayday_bench_app_<random> on that server,
 * dropped at the end), else the embedded PostgreSQL in a temporary directory.
 * Env: BENCH_PRESSES (default 200), BENCH_WARMUP (presses of each before, not counted; default
 * 5), BENCH_SETTLE_MS (quiet before each measurement; default 200), BENCH_LOG_LEVEL (Mayday's
 * LOG_LEVEL, default silent).
 * Exits non-zero on any non-2xx (in the page or from Node), an SOS that did not open a new
 * incident (not 201), an app that did not reach `stored`, or an SOS sent without a location.
 */
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import os from 'node:os';
import { chromium, type Browser, type Page, type Request } from 'playwright-core';
import type { Sql } from '../src/db/client';
import { api, call, CENTER, ZONE_BOUNDARY } from './lib/api';
import { insertDrivers, openPool, scratchDatabase, serverVersion } from './lib/db';
import { printFailures, runBench } from './lib/main';
import { freePort, newAdminToken, startMayday, waitReady } from './lib/processes';
import { clockOffset, intEnv, now, say, sleep } from './lib/run';
import { fmt, pct, pctTable, provenance } from './lib/stats';

// Code run in the page by page.evaluate(); this project's tsconfig has no DOM library.
declare const document: any;
declare const navigator: any;
declare const window: any;

const CHROMIUM = '/usr/bin/chromium';
const cfg = {
  presses: intEnv('BENCH_PRESSES', 200),
  warmup: intEnv('BENCH_WARMUP', 5, 0),
  settleMs: intEnv('BENCH_SETTLE_MS', 200, 0),
  maydayLogLevel: process.env.BENCH_LOG_LEVEL || 'silent',
};
const GOAL = 1.2;

interface AppPress {
  armedToStored: number;
  releaseToStored: number;
  /** The app's figure in three parts, from the page's Resource Timing of its POST /v1/sos: before fetch() is called, the request, after its answer is in. */
  parts: { beforeFetch: number; request: number; afterAnswer: number };
  /** The page's clock minus ours, and the round trip it was read in. */
  clock: { offset: number; rtt: number };
  controlled: boolean;
  /** The SOS body as the app sent it (no token in it). */
  body: string;
}

const isSos = (r: Request) => r.method() === 'POST' && new URL(r.url()).pathname === '/v1/sos';

/** A new code for `driverId`: the path and fragment of its enrollment link, and the code. */
async function enrollment(base: string, adminToken: string, driverId: string): Promise<{ path: string; code: string }> {
  const e = await api<{ code: string; url: string }>(base, 'POST', `/v1/drivers/${driverId}/enrollments`, adminToken, undefined, 201);
  const u = new URL(e.url); // PUBLIC_BASE_URL's host may be "localhost": the page stays on the origin the run uses
  return { path: u.pathname + u.hash, code: e.code };
}

/** Until the app shows its SOS button at rest; whether a service worker controls the page (reloaded at /app/ once if one is registered but not yet in control). */
async function appReady(page: Page, base: string): Promise<boolean> {
  const idle = async () => {
    await page.getByRole('button', { name: /^SOS/ }).waitFor({ state: 'visible', timeout: 20_000 });
    await page.waitForFunction(() => document.documentElement.dataset.sos === 'idle', undefined, { timeout: 20_000 });
  };
  const control = () =>
    page.evaluate(async () => {
      const sw = navigator.serviceWorker;
      if (!sw) return 'none';
      if (sw.controller) return 'controlled';
      const reg = await Promise.race([sw.ready, new Promise((r) => setTimeout(() => r(null), 5000))]);
      if (!reg) return 'none';
      if (!sw.controller) await new Promise((r) => (sw.addEventListener('controllerchange', r, { once: true }), setTimeout(r, 2000)));
      return sw.controller ? 'controlled' : 'registered';
    });
  await idle();
  let state = await control();
  if (state === 'registered') {
    await page.goto(`${base}/app/`);
    await idle();
    state = await control();
  }
  await page.waitForLoadState('networkidle');
  return state === 'controlled';
}

/** One press in a new phone-size context: enrolled, ready, settled, held until armed, released, stored. */
async function pressInApp(browser: Browser, base: string, enrollPath: string): Promise<AppPress> {
  const ctx = await browser.newContext({
    viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2, locale: 'en-US',
    geolocation: { latitude: CENTER.lat, longitude: CENTER.lng, accuracy: 8 }, permissions: ['geolocation'],
  });
  try {
    // Every POST /v1/sos the context makes (the page's, and its service worker's if it forwards it).
    const sos = { bodies: [] as string[], statuses: [] as number[] };
    ctx.on('request', (r) => void (isSos(r) && sos.bodies.push(r.postData() ?? '')));
    ctx.on('response', (r) => void (isSos(r.request()) && sos.statuses.push(r.status())));
    const page = await ctx.newPage();
    await page.goto(base + enrollPath);
    const controlled = await appReady(page, base);
    const box = await page.getByRole('button', { name: /^SOS/ }).boundingBox();
    if (!box) throw new Error('the SOS button has no box on screen');
    await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
    const clock = await clockOffset(() => page.evaluate(() => window.performance.timeOrigin + window.performance.now()), 5);
    await sleep(cfg.settleMs);

    await page.mouse.down();
    await page.waitForFunction(() => window.performance.getEntriesByName('mayday:sos:armed').length > 0, undefined, { polling: 'raf', timeout: 5_000 });
    const releasedAt = now();
    await page.mouse.up();
    await page.waitForFunction(() => window.performance.getEntriesByName('mayday:sos:stored').length > 0 || !['holding', 'sending'].includes(document.documentElement.dataset.sos), undefined, { polling: 50, timeout: 30_000 });
    // No named functions in code run in the page: tsx would wrap them in a helper the page lacks.
    const m = await page.evaluate(() => ({
      origin: window.performance.timeOrigin as number,
      armed: window.performance.getEntriesByName('mayday:sos:armed')[0].startTime as number,
      stored: (window.performance.getEntriesByName('mayday:sos:stored')[0]?.startTime ?? null) as number | null,
      state: document.documentElement.dataset.sos as string,
      fetch: window.performance.getEntriesByType('resource').find((e: any) => new URL(e.name).pathname === '/v1/sos') as { startTime: number; responseEnd: number } | undefined,
    }));
    const bad = sos.statuses.filter((s) => s < 200 || s > 299);
    if (m.stored === null || bad.length) throw new Error(`the app's SOS was not stored: state ${m.state}, POST /v1/sos answered ${sos.statuses.join(', ') || 'nothing'}`);
    if (!sos.statuses.includes(201)) throw new Error(`the app's SOS did not open a new incident: POST /v1/sos answered ${sos.statuses.join(', ')}`);
    if (!sos.bodies.length || !JSON.parse(sos.bodies[0]).location) throw new Error(`the app sent its SOS without a location (body keys: ${sos.bodies[0] ? Object.keys(JSON.parse(sos.bodies[0])).join(', ') : 'none seen'})`);
    await page.waitForFunction(() => document.documentElement.dataset.sos === 'stored', undefined, { timeout: 5_000 });
    if (!m.fetch) throw new Error('no Resource Timing entry for the POST /v1/sos in the page');
    return {
      armedToStored: m.stored - m.armed,
      releaseToStored: m.origin + m.stored - clock.offset - releasedAt,
      parts: { beforeFetch: m.fetch.startTime - m.armed, request: m.fetch.responseEnd - m.fetch.startTime, afterAnswer: m.stored - m.fetch.responseEnd },
      clock,
      controlled,
      body: sos.bodies[0],
    };
  } finally {
    await ctx.close();
  }
}

/** The one incident `driverId` has, resolved by the safety lead (it must be exactly one: a press is one incident). */
async function resolveOnly(sql: Sql, base: string, leadToken: string, driverId: string): Promise<void> {
  const rows = await sql<{ id: string }[]>`SELECT id FROM incidents WHERE driver_id = ${driverId}`;
  if (rows.length !== 1) throw new Error(`driver ${driverId} has ${rows.length} incidents after one press`);
  await api(base, 'POST', `/v1/incidents/${rows[0].id}/resolve`, leadToken, { disposition: 'false_alarm', note: 'bench:app' }, 200);
}

async function main() {
  const t0 = performance.now();
  if (!existsSync(CHROMIUM)) throw new Error(`no Chromium at ${CHROMIUM} (apt-get install -y chromium)`);
  const db = await scratchDatabase('mayday_bench_app');
  const sql = await openPool(db.url, { migrated: true });
  const pgVersion = await serverVersion(sql);
  const adminToken = newAdminToken();
  const mayday = startMayday('mayday', await freePort(), { databaseUrl: db.url, adminToken, logLevel: cfg.maydayLogLevel });
  await waitReady(mayday, '/readyz');
  const base = mayday.base;
  say(`mayday on ${base} (pid ${mayday.proc.pid})`);

  // The zone in service: an on-call supervisor (the SOS's first pages) and a safety lead (who resolves).
  const zone = await api<{ id: string }>(base, 'POST', '/v1/zones', adminToken, { name: 'Bench zone', boundary: ZONE_BOUNDARY }, 201);
  const person = (name: string, phone: string, role: string) =>
    api<{ id: string; token: string }>(base, 'POST', '/v1/responders', adminToken, { name, phone, role, zoneIds: [zone.id] }, 201);
  const onCall = await person('Bench supervisor', '+15551000001', 'supervisor');
  const lead = await person('Bench safety lead', '+15551000002', 'safety_lead');
  await api(base, 'PUT', `/v1/zones/${zone.id}/rotation`, adminToken, { responderIds: [onCall.id], shiftMinutes: 1440, startsAt: new Date().toISOString() }, 200);
  const total = cfg.warmup + cfg.presses;
  const drivers = await insertDrivers(sql, { count: 2 * total, name: 'Bench app driver', phonePrefix: '+1555', phoneOffset: 3_000_000 });
  say(`zone and ${drivers.length} drivers created (one per SOS)`);

  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
  const chromiumVersion = browser.version();
  const app: AppPress[] = [];
  const node: number[] = [];
  const failures: string[] = [];
  let body = '';
  try {
    for (let i = 0; i < total; i++) {
      const counted = i >= cfg.warmup;
      const [forApp, forNode] = [drivers[2 * i], drivers[2 * i + 1]];
      try {
        // One press in the app.
        const p = await pressInApp(browser, base, (await enrollment(base, adminToken, forApp.id)).path);
        await resolveOnly(sql, base, lead.token, forApp.id);
        body = p.body;

        // The same request from Node: a device token of its own, the body the app sent with a new id.
        const { code } = await enrollment(base, adminToken, forNode.id);
        const { token } = await api<{ token: string }>(base, 'POST', '/v1/app/enroll', '', { code }, 201);
        await api(base, 'GET', '/v1/app/me', token, undefined, 200); // as the app does on opening (the token is then in Mayday's cache)
        const sent = JSON.stringify({ ...JSON.parse(p.body), clientRequestId: randomUUID() });
        await sleep(cfg.settleMs);
        const start = now();
        const res = await call(base, 'POST', '/v1/sos', token, sent);
        const took = now() - start;
        if (res.status !== 201) throw new Error(`Node's POST /v1/sos answered ${res.status} (expected 201): ${res.text.slice(0, 300)}`);
        await resolveOnly(sql, base, lead.token, forNode.id);
        if (counted) {
          app.push(p);
          node.push(took);
        }
      } catch (e) {
        failures.push(`press ${i + 1}${counted ? '' : ' (warm-up)'}: ${(e as Error).message.split('\n')[0]}`);
        break; // a broken setup says so once, not two hundred times
      }
      if ((i + 1) % 20 === 0 || i + 1 === total) say(`${i + 1} of ${total} presses (${cfg.warmup} of them warm-up)`);
    }
  } finally {
    await browser.close();
  }

  // Report.
  const armed = app.map((p) => p.armedToStored);
  const released = app.map((p) => p.releaseToStored);
  const offsets = app.map((p) => p.clock.offset);
  const rtts = app.map((p) => p.clock.rtt);
  const ratio = (q: number, xs: number[]) => pct(xs, q) / pct(node, q);
  const verdict = (r: number) => (Number.isFinite(r) ? `${fmt(r, 2)}  (goal <= ${GOAL}: ${r <= GOAL ? 'met' : 'NOT met'})` : '-');
  const { head, row } = pctTable({ labelWidth: 34, max: true });
  const lines = [
    '',
    `Mayday driver app benchmark: ${app.length} presses in Chromium, each a new driver's first SOS, alternating with as many POST /v1/sos by fetch from Node (${cfg.warmup} of each before, not counted; ${cfg.settleMs} ms quiet before each)`,
    ...provenance(pgVersion, db.label, `${os.platform()} ${os.release()}, load ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`),
    `browser:  Chromium ${chromiumVersion} headless, 390×844 at scale 2, touch; a service worker controlled the page in ${app.filter((p) => p.controlled).length} of ${app.length} presses`,
    `clocks:   page − Node offset p50 ${fmt(pct(offsets, 50), 2)} ms (min ${fmt(Math.min(...offsets), 2)}, max ${fmt(Math.max(...offsets), 2)}), read in round trips p50 ${fmt(pct(rtts, 50), 2)} ms`,
    `body:     as the app sent it, keys ${body ? describeKeys(JSON.parse(body)) : '-'}`,
    '',
    head('from → to'),
    row('app: armed → stored (the 201)', armed),
    row('app: mouse.up → stored', released),
    row('  armed → fetch() called', app.map((p) => p.parts.beforeFetch)),
    row('  fetch() → answer in', app.map((p) => p.parts.request)),
    row('  answer in → stored', app.map((p) => p.parts.afterAnswer)),
    row('node: fetch → 201 read', node),
    '',
    `app / node p50: ${verdict(ratio(50, armed))}`,
    `app / node p99: ${verdict(ratio(99, armed))}`,
    `from mouse.up instead: p50 ${fmt(ratio(50, released), 2)}, p99 ${fmt(ratio(99, released), 2)}`,
  ];
  process.stdout.write(lines.join('\n') + '\n');
  if (!failures.length && app.length < cfg.presses) failures.push(`only ${app.length} of ${cfg.presses} presses measured`);
  printFailures(failures, { hint: cfg.maydayLogLevel === 'silent' ? "(rerun with BENCH_LOG_LEVEL=warn to see Mayday's own log)" : undefined });
  say(`done in ${((performance.now() - t0) / 1000).toFixed(0)} s`);
}

/** `{a, b: {c, d}}`: the shape of a JSON value, without its values. */
function describeKeys(v: unknown): string {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return typeof v;
  return `{${Object.entries(v).map(([k, x]) => (x !== null && typeof x === 'object' && !Array.isArray(x) ? `${k}: ${describeKeys(x)}` : k)).join(', ')}}`;
}

runBench(main, cfg.maydayLogLevel === 'silent' ? "(BENCH_LOG_LEVEL=warn shows Mayday's own log)" : undefined);
