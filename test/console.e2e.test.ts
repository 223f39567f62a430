/**
 * The console in a real browser (Debian's Chromium driven by playwright-core) against a real
 * server on a free port, a real database with the demo data, and the engine running: sign in,
 * watch an SOS appear on the board without a reload, open it, acknowledge, resolve; play the
 * whole story on the simulated phones; an auditor cannot acknowledge; a driver cannot sign in.
 * Screenshots of the board, an incident and a phone, at desktop and phone width, are saved under
 * test-results/console/ (the path is printed).
 */
import { serve } from '@hono/node-server';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadMigrations } from '../src/db/migrations-fs';
import { DEMO, seedDemo, type DemoTokens } from '../src/demo/seed';
import type { Engine } from '../src/escalation/engine';
import { wireNode } from '../src/entry/wire';
import { createLogger } from '../src/log';
import { ADMIN_TOKEN } from './helpers/app';
import { freshDatabase } from './helpers/db';
import { freePort } from './helpers/ports';

// Code run in the page by page.evaluate(); this project's tsconfig has no DOM library.
declare const window: any;
declare const document: any;
type HTMLInputElement = { value: string };

const CHROMIUM = '/usr/bin/chromium';
export const SHOTS = resolve('test-results/console');


describe.skipIf(!existsSync(CHROMIUM))('the console in a browser', () => {
  let base: string;
  let browser: Browser;
  let engine: Engine;
  let demo: DemoTokens;
  let stopServer: () => Promise<void>;
  let sql: Awaited<ReturnType<typeof freshDatabase>>['sql'];
  const token = (role: string, i = 0) => demo.tokens.filter((t) => t.role === role)[i];

  /** The Mayday API, as the driver's app would call it. */
  const api = async (method: string, path: string, bearer: string, body?: unknown) => {
    const res = await fetch(`${base}${path}`, {
      method,
      headers: { authorization: `Bearer ${bearer}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    return { status: res.status, body: (await res.json()) as any };
  };

  beforeAll(async () => {
    const db = await freshDatabase();
    sql = db.sql;
    demo = (await seedDemo(sql))!;
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    const wired = wireNode({
      sql,
      log: createLogger({ level: 'warn' }),
      adminToken: ADMIN_TOKEN,
      publicBaseUrl: base,
      schemaVersion: Math.max(...loadMigrations().map((m) => m.id)),
      zoneCacheMs: 0,
    });
    engine = wired.engine;
    await engine.start();
    const server = serve({ fetch: wired.app.fetch, port, hostname: '127.0.0.1' });
    stopServer = () =>
      new Promise<void>((res) => {
        (server as unknown as { closeAllConnections?: () => void }).closeAllConnections?.();
        server.close(() => res());
      });
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
    });
    mkdirSync(SHOTS, { recursive: true });
    console.log(`console screenshots: ${SHOTS}`);
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await engine?.stop();
    await stopServer?.();
  });

  async function signedIn(bearer: string, viewport = { width: 1280, height: 900 }): Promise<{ ctx: BrowserContext; page: Page }> {
    const ctx = await browser.newContext({ viewport, isMobile: viewport.width < 500, hasTouch: viewport.width < 500, deviceScaleFactor: viewport.width < 500 ? 2 : 1 });
    const page = await ctx.newPage();
    await page.goto(`${base}/console`);
    await expect.poll(() => page.url()).toBe(`${base}/console/sign-in`);
    // By keyboard: the label names the field, Enter submits.
    await page.getByLabel('Access token').focus();
    await page.keyboard.type(bearer);
    await page.keyboard.press('Enter');
    await page.waitForURL(`${base}/console`);
    return { ctx, page };
  }

  const shot = async (page: Page, name: string, fullPage = true) => {
    const path = join(SHOTS, `${name}.png`);
    await page.screenshot({ path, fullPage });
    console.log(`screenshot: ${path}`);
  };

  const sos = (over: Record<string, unknown> = {}) =>
    api('POST', '/v1/sos', token('driver').token, {
      clientRequestId: randomUUID(), kind: 'robbery', location: { lat: DEMO.here.lat, lng: DEMO.here.lng, accuracyM: 25 }, ...over,
    });

  it('sign in, see an SOS appear on the board without a reload, open it, acknowledge, resolve', async () => {
    const { ctx, page } = await signedIn(token('supervisor', 0).token);
    await expect.poll(() => page.locator('#live').getAttribute('data-state')).toBe('on');
    await page.evaluate(() => ((window as any).__sameDocument = true));

    const opened = Date.now();
    const inc = (await sos()).body.incident;
    const row = page.getByRole('link', { name: `#${inc.code} Robbery` });
    await row.waitFor({ timeout: 3000 });
    const seenAfterMs = Date.now() - opened;
    expect(seenAfterMs).toBeLessThan(2000);
    expect(await page.evaluate(() => (window as any).__sameDocument)).toBe(true); // no reload
    // The driver moves a little: a trail to draw.
    for (const [dLat, dLng] of [[0.0008, 0.0006], [0.0015, 0.0016], [0.0021, 0.0019]]) {
      await api('POST', `/v1/incidents/${inc.id}/locations`, token('driver').token, { lat: DEMO.here.lat + dLat, lng: DEMO.here.lng + dLng, accuracyM: 12 });
    }
    await expect.poll(async () => (await page.locator('#board tr', { hasText: `#${inc.code}` }).innerText()).includes('Open')).toBe(true);
    await shot(page, 'board');

    await row.click();
    await page.waitForURL(`${base}/console/incidents/${inc.id}`);
    await expect.poll(() => page.getByText('SMS to').count()).toBeGreaterThan(0);
    await page.getByRole('img', { name: /Location trail/ }).waitFor();
    await shot(page, 'incident');

    await page.getByRole('button', { name: 'Acknowledge: I have it' }).focus();
    await page.keyboard.press('Enter');
    await page.waitForURL(/\?n=acknowledged$/);
    await page.getByText('Acknowledged: the incident is yours').waitFor();
    expect((await api('GET', `/v1/incidents/${inc.id}`, token('supervisor', 0).token)).body.incident.status).toBe('acknowledged');

    await page.getByLabel('Disposition').selectOption('police_dispatched');
    await page.getByLabel('Note (optional)', { exact: true }).fill('Officer Reyes on scene; driver unhurt.');
    await page.getByRole('button', { name: 'Resolve incident' }).click();
    await page.waitForURL(/\?n=resolved$/);
    await page.getByText('Police dispatched by Ava Ortiz').waitFor();
    await shot(page, 'incident-resolved');
    expect((await api('GET', `/v1/incidents/${inc.id}`, token('supervisor', 0).token)).body.incident).toMatchObject({ status: 'resolved', disposition: 'police_dispatched' });
    await page.getByRole('link', { name: '← Board' }).click();
    await expect.poll(() => page.getByRole('link', { name: `#${inc.code} Robbery` }).count()).toBe(0);
    await ctx.close();
  }, 60_000);

  it('the simulator story in the browser alone: demo SOS, page, ACK by text, check-in SAFE, resolve', async () => {
    // The administrator plays every part; a supervisor would play only her own phone.
    const { ctx, page } = await signedIn(ADMIN_TOKEN);
    await page.getByRole('button', { name: 'Simulate an SOS from Dana Kim' }).click();
    await page.getByText('Dana’s SOS was sent').waitFor();
    const link = page.locator('#board a', { hasText: 'Robbery' }).first();
    await link.waitFor();
    const code = Number(/#(\d+)/.exec(await link.innerText())![1]);

    await page.getByRole('link', { name: 'Phone simulator' }).click();
    // The on-call supervisor's phone has the page: the newest activity is listed first.
    const pagedRow = page.locator('#main tbody tr', { hasText: 'supervisor' }).first();
    await expect.poll(async () => pagedRow.innerText(), { timeout: 5000 }).not.toMatch(/nothing yet/);
    await pagedRow.getByRole('link').click();
    await page.getByText(`Reply ACK ${code}`).first().waitFor();
    await page.getByRole('button', { name: /Press 1/ }).first().waitFor();
    await shot(page, 'phone');
    await page.getByRole('button', { name: `Text “ACK ${code}”` }).click();
    await page.getByText(`#${code} acknowledged`).waitFor();

    // Thirty seconds on, Mayday asks the driver how she is (the test moves the engine's clock).
    await engine.tick(new Date(Date.now() + 31_000));
    await page.goto(`${base}/console/phones/${encodeURIComponent(DEMO.driver.phone)}`);
    await page.getByRole('button', { name: 'Text “SAFE”' }).click();
    await page.getByText(`noted, you are safe`).last().waitFor();
    await ctx.close();

    // A supervisor resolves it; the timeline names the administrator for what was done on the phones.
    const sup = await signedIn(token('supervisor', 1).token);
    await sup.page.locator('#board a', { hasText: `#${code}` }).click();
    await sup.page.getByText('Driver checked in: safe').waitFor();
    await sup.page.getByText(/Acknowledged by .* via text reply/).waitFor();
    await sup.page.getByText(/Phone simulator: administrator texted SAFE as the phone/).waitFor();
    await sup.page.getByLabel('Disposition').selectOption('resolved_safe');
    await sup.page.getByRole('button', { name: 'Resolve incident' }).click();
    await sup.page.getByText(/Resolved — driver safe by/).waitFor();
    await sup.ctx.close();
  }, 60_000);

  it('at phone width the board and an incident are readable cards (390 px)', async () => {
    const inc = (await sos({ kind: 'medical' })).body.incident;
    await api('POST', `/v1/incidents/${inc.id}/locations`, token('driver').token, { lat: DEMO.here.lat + 0.001, lng: DEMO.here.lng - 0.0012, accuracyM: 30 });
    const { ctx, page } = await signedIn(token('safety_lead').token, { width: 390, height: 844 });
    const link = page.getByRole('link', { name: `#${inc.code} Medical` });
    await link.waitFor();
    // Nothing wider than the screen.
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    await shot(page, 'board-phone');
    await link.click();
    await page.getByRole('button', { name: 'Acknowledge: I have it' }).waitFor();
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    await shot(page, 'incident-phone');
    await page.getByRole('heading', { name: 'Location trail' }).evaluate((el: any) => el.scrollIntoView({ block: 'start' }));
    await shot(page, 'incident-phone-trail', false);
    await ctx.close();
  }, 60_000);

  it('an auditor reads the incident but has no acknowledge button, and a forged one is refused', async () => {
    const auditor = await api('POST', '/v1/auditors', ADMIN_TOKEN, { name: 'Alex Auditor' });
    const inc = (await sos({ kind: 'assault' })).body.incident;
    const { ctx, page } = await signedIn(auditor.body.token);
    await page.getByRole('link', { name: `#${inc.code} Assault` }).click();
    await page.getByRole('heading', { name: /Timeline/ }).waitFor();
    expect(await page.getByRole('button', { name: /Acknowledge/ }).count()).toBe(0);
    expect(await page.getByLabel('Disposition').count()).toBe(0);
    const status = await page.evaluate(async (id) => {
      const csrf = (document.querySelector('input[name=csrf]') as HTMLInputElement).value;
      const res = await fetch(`/console/incidents/${id}/ack`, { method: 'POST', body: new URLSearchParams({ csrf }) });
      return res.status;
    }, inc.id);
    expect(status).toBe(403);
    expect((await api('GET', `/v1/incidents/${inc.id}`, ADMIN_TOKEN)).body.incident.status).toBe('open');
    // The safety team's page is theirs.
    await page.getByRole('link', { name: 'Safety team' }).click();
    await page.getByRole('heading', { name: /Response times/ }).waitFor();
    await page.getByRole('img', { name: /acknowledgement/ }).waitFor();
    await shot(page, 'safety');
    await page.getByRole('button', { name: /^Verify/ }).click();
    await page.getByText(/✓ VALID — all \d+ timelines verified/).waitFor();
    await ctx.close();
  }, 60_000);

  it('a driver’s token is refused at sign-in, and no session cookie is set', async () => {
    const ctx = await browser.newContext();
    const page = await ctx.newPage();
    await page.goto(`${base}/console/sign-in`);
    await page.getByLabel('Access token').fill(token('driver').token);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByText('Drivers cannot sign in to the console').waitFor();
    expect((await ctx.cookies()).map((c) => c.name)).not.toContain('mayday_console');
    await page.goto(`${base}/console`);
    expect(page.url()).toBe(`${base}/console/sign-in`);
    await ctx.close();
  }, 30_000);
});
