/**
 * The driver app as the server serves it, without a browser: the manifest and its icons, the
 * shell's content types and Content-Security-Policy, the service worker at /app/sw.js with what
 * it precaches, the 60 KB gzipped budget of HTML + JS + CSS, the app's words in both languages,
 * and the app's JavaScript type-checking. (The app in Chromium: driver-app.e2e.test.ts.)
 */
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { gzipSync } from 'node:zlib';
import { beforeAll, describe, expect, it } from 'vitest';
import { APP_FILES, CSP, PRECACHE_URLS, SHELL_FILES } from '../src/driver-app/serve';
import { nodeAppAssets, type NodeAppAssets } from '../src/entry/app-assets';
import { keysOf } from '../src/i18n/catalogue';
import { testApp, type TestApp } from './helpers/app';
import { expectError } from './helpers/expect';
import { TWILIO } from './helpers/twilio';

const ROOT = resolve(__dirname, '..');
const PUBLIC = join(ROOT, 'src/driver-app/public/app');

let t: TestApp;
beforeAll(async () => {
  t = await testApp();
});

/** What the server answers, body as bytes. */
async function fetchRaw(path: string, headers: Record<string, string> = {}) {
  const res = await t.app.request(path, { headers });
  return { status: res.status, headers: res.headers, bytes: new Uint8Array(await res.arrayBuffer()) };
}
const text = (b: Uint8Array) => new TextDecoder().decode(b);

/** Width and height from a PNG's IHDR chunk. */
function pngSize(b: Uint8Array) {
  expect([...b.slice(0, 8)]).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  const v = new DataView(b.buffer, b.byteOffset);
  return `${v.getUint32(16)}x${v.getUint32(20)}`;
}

/** Every file of the app folder, as paths under public/ ("app/js/api.js"). */
function filesUnder(dir: string, prefix = 'app'): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((d) => (d.isDirectory() ? filesUnder(join(dir, d.name), `${prefix}/${d.name}`) : [`${prefix}/${d.name}`]));
}

describe('the shell', () => {
  it('is served at /app/ and /app/enroll with a strict Content-Security-Policy and a Cache-Control that revalidates', async () => {
    const page = await fetchRaw('/app/');
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
    const csp = page.headers.get('content-security-policy')!;
    expect(csp).toBe(CSP);
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("style-src 'self'");
    expect(csp).not.toMatch(/unsafe-inline|unsafe-eval|\*/);
    expect(page.headers.get('x-content-type-options')).toBe('nosniff');
    expect(page.headers.get('cache-control')).toBe('no-cache');
    expect(page.headers.get('etag')).toBeTruthy();
    const html = text(page.bytes);
    // No inline script or style: every <script> has a src, nothing carries a style or on* attribute.
    expect(html.match(/<script\b[^>]*>/g)!.every((s) => /\bsrc="\/app\//.test(s))).toBe(true);
    expect(html).not.toMatch(/<style|\sstyle=|\son[a-z]+=/i);
    expect(html).toContain('<link rel="manifest" href="/app/manifest.webmanifest">');

    const enroll = await fetchRaw('/app/enroll');
    expect(enroll.status).toBe(200);
    expect(text(enroll.bytes)).toBe(html);
    expect(enroll.headers.get('content-security-policy')).toBe(CSP);

    const bare = await t.app.request('/app');
    expect(bare.status).toBe(308);
    expect(bare.headers.get('location')).toBe('/app/');
  });

  it('serves each file with its content type, and 304 for an unchanged one', async () => {
    const types: Record<string, string> = {
      'app/app.js': 'text/javascript; charset=utf-8',
      'app/js/store.js': 'text/javascript; charset=utf-8',
      'app/app.css': 'text/css; charset=utf-8',
      'app/manifest.webmanifest': 'application/manifest+json',
      'app/icons/icon-192.png': 'image/png',
    };
    for (const [path, type] of Object.entries(types)) {
      const res = await fetchRaw(`/${path}`);
      expect(res.status, path).toBe(200);
      expect(res.headers.get('content-type'), path).toBe(type);
      expect(res.headers.get('content-security-policy'), path).toBe(CSP);
      expect(res.bytes).toEqual(new Uint8Array(readFileSync(join(ROOT, 'src/driver-app/public', path))));
      const again = await fetchRaw(`/${path}`, { 'if-none-match': res.headers.get('etag')! });
      expect(again.status, path).toBe(304);
    }
  });

  it('answers 404 with the one error body for anything else under /app, and never leaves its folder', async () => {
    for (const path of ['/app/nothing.js', '/app/..%2Fserve.ts', '/app/%2e%2e/%2e%2e/package.json', '/app/js/../../serve.ts', '/app/messages/fr.json', '/app/messages/en.js', '/app/icons/ICON-192.PNG']) {
      const res = await t.get(path);
      expectError(res, 404, 'not_found');
    }
  });

  it('reads only the app’s own files, once: thousands of made-up names answer 404 and none is kept', async () => {
    const reader = t.deps.appAsset as NodeAppAssets;
    expect(reader.held()).toBe(APP_FILES.length);
    for (let i = 0; i < 3000; i++) {
      const name = randomUUID();
      expect((await t.app.request(`/app/${name}.js`)).status).toBe(404);
      expect(await reader(`app/${name}.js`)).toBeUndefined();
    }
    expect(reader.held()).toBe(APP_FILES.length);
    // A file in the folder that is not one of the app's is neither read nor served.
    const dir = mkdtempSync(join(tmpdir(), 'mayday-app-'));
    mkdirSync(join(dir, 'app'));
    writeFileSync(join(dir, 'app/app.js'), 'ok');
    writeFileSync(join(dir, 'app/extra.js'), 'not the app');
    const other = nodeAppAssets(dir);
    expect(text((await other('app/app.js'))!)).toBe('ok');
    expect(await other('app/extra.js')).toBeUndefined();
    expect(other.held()).toBe(1);
  });

  it('lists every file of the app folder in the shell (so the service worker keeps it), and nothing that is not there', () => {
    const onDisk = filesUnder(PUBLIC).filter((f) => f !== 'app/sw.js').sort();
    expect([...SHELL_FILES].sort()).toEqual(onDisk);
  });
});

describe('the app’s configuration', () => {
  it('GET /app/config.json names the number to text SOS to, with no token: TWILIO_FROM_NUMBER, or null with the phone simulator', async () => {
    const sim = await t.get('/app/config.json');
    expect(sim.status).toBe(200);
    expect(sim.headers.get('content-security-policy')).toBe(CSP);
    expect(sim.body).toEqual({ textSosTo: null });
    const withTwilio = await testApp({ twilio: TWILIO });
    const res = await withTwilio.get('/app/config.json');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ textSosTo: TWILIO.fromNumber });
    expect(PRECACHE_URLS).toContain('/app/config.json');
  });
});

describe('the manifest', () => {
  it('names the app, starts and is scoped at /app/, runs standalone, with PNG icons of 192 and 512 px and a maskable one', async () => {
    const res = await t.get('/app/manifest.webmanifest');
    expect(res.status).toBe(200);
    const m = typeof res.body === 'string' ? JSON.parse(res.body) : res.body;
    expect(m).toMatchObject({ name: expect.any(String), short_name: expect.any(String), start_url: '/app/', scope: '/app/', display: 'standalone' });
    expect(m.short_name.length).toBeLessThanOrEqual(12);
    expect(m.theme_color).toMatch(/^#[0-9a-f]{6}$/i);
    expect(m.background_color).toMatch(/^#[0-9a-f]{6}$/i);
    const icons = m.icons as { src: string; sizes: string; type: string; purpose?: string }[];
    for (const want of [{ sizes: '192x192', purpose: 'any' }, { sizes: '512x512', purpose: 'any' }, { sizes: '512x512', purpose: 'maskable' }]) {
      expect(icons.some((i) => i.sizes === want.sizes && (i.purpose ?? 'any').split(' ').includes(want.purpose))).toBe(true);
    }
    for (const icon of icons) {
      expect(icon.type).toBe('image/png');
      const png = await fetchRaw(icon.src);
      expect(png.status, icon.src).toBe(200);
      expect(png.headers.get('content-type')).toBe('image/png');
      expect(pngSize(png.bytes)).toBe(icon.sizes);
    }
  });
});

describe('the service worker', () => {
  it('is served at /app/sw.js as JavaScript, with the shell’s digest and every URL it precaches filled in', async () => {
    const res = await fetchRaw('/app/sw.js');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(res.headers.get('cache-control')).toBe('no-cache');
    const js = text(res.bytes);
    const version = /^const VERSION = "([0-9a-f]{16})";$/m.exec(js);
    expect(version).not.toBeNull();
    const precache = JSON.parse(/^const PRECACHE = (.*);$/m.exec(js)![1]) as string[];
    expect(precache).toEqual(PRECACHE_URLS);
    expect(precache).toEqual(expect.arrayContaining(['/app/', '/app/app.js', '/app/app.css', '/app/messages/en.json', '/app/messages/es.json']));
    // Installing fails if any one of them does: each answers 200.
    for (const url of precache) expect((await t.app.request(url)).status, url).toBe(200);
    expect(js).toContain("addEventListener('sync'");
  });
});

describe('the size budget', () => {
  it('keeps HTML + JS + CSS of the shell within 60 KB gzipped, as served', async () => {
    const shell = ['/app/', '/app/sw.js', ...PRECACHE_URLS.filter((u) => /\.(js|css)$/.test(u))];
    expect(shell).toEqual(expect.arrayContaining(['/app/app.js', '/app/js/api.js', '/app/app.css']));
    let gz = 0;
    for (const url of shell) gz += gzipSync((await fetchRaw(url)).bytes, { level: 9 }).length;
    console.log(`driver app shell: ${(gz / 1024).toFixed(1)} KB gzipped (HTML + JS + CSS, ${shell.length} files)`);
    expect(gz).toBeLessThanOrEqual(60 * 1024);
  });
});

describe('the app’s words', () => {
  it('are served per language, with the same keys and placeholders in English and Spanish', async () => {
    const en = await t.get('/app/messages/en.json');
    const es = await t.get('/app/messages/es.json');
    expect(en.status).toBe(200);
    expect(en.headers.get('content-type')).toMatch(/^application\/json/);
    expect(es.status).toBe(200);
    expect(keysOf(es.body).sort()).toEqual(keysOf(en.body).sort());
    const at = (o: any, k: string) => k.split('.').reduce((n, p) => n[p], o) as string;
    const holes = (s: string) => [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();
    for (const k of keysOf(en.body)) {
      expect(at(es.body, k).trim(), k).not.toBe('');
      expect(holes(at(es.body, k)), k).toEqual(holes(at(en.body, k)));
    }
    // The SOS button's accessible name (its word, then how to use it) begins with "SOS" in every language.
    expect(en.body.sos.word).toBe('SOS');
    expect(es.body.sos.word).toBe('SOS');
    expect(es.body.sos.queued).not.toBe(en.body.sos.queued);
  });

  it('has every key the page and its scripts name', async () => {
    const en = (await t.get('/app/messages/en.json')).body;
    const keys = new Set(keysOf(en));
    const html = readFileSync(join(PUBLIC, 'index.html'), 'utf8');
    const named = [...html.matchAll(/data-t(?:-label)?="([^"]+)"/g)].map((m) => m[1]);
    for (const f of filesUnder(PUBLIC).filter((f) => f.endsWith('.js'))) {
      named.push(...[...readFileSync(join(ROOT, 'src/driver-app/public', f), 'utf8').matchAll(/\bt\(\s*'([a-zA-Z.]+)'/g)].map((m) => m[1]));
      // Keys made from a prefix and a value: each value the code can put there.
      for (const m of readFileSync(join(ROOT, 'src/driver-app/public', f), 'utf8').matchAll(/\bt\(\s*`([a-zA-Z]+)\.\$\{/g)) expect(keys.has(`${m[1]}.other`) || [...keys].some((k) => k.startsWith(`${m[1]}.`))).toBe(true);
    }
    expect(named.length).toBeGreaterThan(40);
    expect(named.filter((k) => !keys.has(k))).toEqual([]);
    for (const k of ['robbery', 'shooting', 'assault', 'harassment', 'crash', 'medical', 'other']) expect(keys.has(`details.${k}`)).toBe(true);
    for (const k of ['finding', 'off']) expect(keys.has(`geo.${k}`)).toBe(true);
    for (const k of ['cancelled', 'cancelledHint', 'resolved', 'resolvedHint']) expect(keys.has(`ended.${k}`)).toBe(true);
  });
});

describe('the app’s JavaScript', () => {
  it('type-checks from its JSDoc (the page against the DOM, the service worker against WebWorker)', () => {
    const tsc = join(ROOT, 'node_modules/.bin/tsc');
    for (const project of ['tsconfig.app.json', 'tsconfig.sw.json']) {
      expect(() => execFileSync(tsc, ['-p', project], { cwd: ROOT, encoding: 'utf8', stdio: 'pipe' }), project).not.toThrow();
    }
  });
});
