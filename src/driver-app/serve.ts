/**
 * The driver app at /app: static files (public/app/, plain JavaScript modules, no build step)
 * read through a reader the runtime supplies (Node: the file system, src/entry/app-assets.ts;
 * Workers: the static-assets binding), the app's part of the message catalogue as JSON, and the
 * service worker with the shell's digest written into it. Every answer carries the same strict
 * Content-Security-Policy and `Cache-Control: no-cache` (revalidated by ETag), so a new version
 * reaches the phone through the service worker's update check.
 */
import { Hono } from 'hono';
import { etag } from 'hono/etag';
import type { Deps } from '../deps';
import { AppError } from '../errors';
import { CATALOGUES, isLanguage } from '../i18n/catalogue';

/** Reads one file under public/ ("app/app.js"); undefined when there is none. */
export type AppAssetReader = (path: string) => Promise<Uint8Array | undefined>;

/** The shell: what the service worker keeps for offline use, as paths under public/. */
export const SHELL_FILES = [
  'app/index.html',
  'app/app.css',
  'app/app.js',
  'app/js/api.js',
  'app/js/geo.js',
  'app/js/hold.js',
  'app/js/i18n.js',
  'app/js/store.js',
  'app/manifest.webmanifest',
  'app/icons/icon-192.png',
  'app/icons/icon-512.png',
  'app/icons/icon-maskable-512.png',
];

/** Every file the app is made of, as paths under public/: the shell and the service worker. Nothing else is served. */
export const APP_FILES: readonly string[] = [...SHELL_FILES, 'app/sw.js'];
const KNOWN = new Set(APP_FILES);

/**
 * The URLs the service worker precaches: the shell (index.html as /app/), both catalogues, and
 * the app's configuration (read from the network first, so a new number reaches the phone).
 */
export const PRECACHE_URLS = [
  ...SHELL_FILES.map((f) => (f === 'app/index.html' ? '/app/' : `/${f}`)),
  ...Object.keys(CATALOGUES).map((lang) => `/app/messages/${lang}.json`),
  '/app/config.json',
];

export const CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "manifest-src 'self'",
  "worker-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const TYPES: Record<string, string> = {
  html: 'text/html; charset=utf-8',
  js: 'text/javascript; charset=utf-8',
  css: 'text/css; charset=utf-8',
  webmanifest: 'application/manifest+json',
  png: 'image/png',
  svg: 'image/svg+xml',
};

/** Paths the app may name: short lower-case names in at most two folders, with a known extension. */
const SAFE_PATH = /^app\/(?:[a-z0-9-]{1,40}\/){0,2}[a-z0-9-]{1,40}\.(html|js|css|webmanifest|png|svg)$/;

const reader = (c: { get(k: 'deps'): Deps }) => {
  const read = c.get('deps').appAsset;
  if (!read) throw new AppError('not_found', 'the driver app is not served by this runtime');
  return read;
};

async function file(read: AppAssetReader, path: string) {
  // Only the app's own files are asked of the reader: any other name is a 404 at once.
  const m = KNOWN.has(path) ? SAFE_PATH.exec(path) : null;
  const body = m ? await read(path) : undefined;
  if (!m || !body) throw new AppError('not_found', `no file /${path}`);
  return { body, type: TYPES[m[1]] };
}

/** sw.js with the precache list and a digest of everything in it, per reader (computed once). */
const workers = new WeakMap<AppAssetReader, Promise<Uint8Array>>();
async function serviceWorker(read: AppAssetReader): Promise<Uint8Array> {
  const source = new TextDecoder().decode((await file(read, 'app/sw.js')).body);
  const parts = await Promise.all([...SHELL_FILES.map(async (f) => (await file(read, f)).body), new TextEncoder().encode(source + JSON.stringify(CATALOGUES))]);
  const all = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    all.set(p, at);
    at += p.length;
  }
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', all));
  const version = [...digest.slice(0, 8)].map((b) => b.toString(16).padStart(2, '0')).join('');
  const filled = source
    .replace(/^const VERSION = .*;$/m, `const VERSION = ${JSON.stringify(version)};`)
    .replace(/^const PRECACHE = .*;$/m, `const PRECACHE = ${JSON.stringify(PRECACHE_URLS)};`);
  if (!filled.includes(version) || !filled.includes('"/app/messages/en.json"')) throw new Error('sw.js has no VERSION or PRECACHE line to fill in');
  return new TextEncoder().encode(filled);
}

const app = new Hono<{ Variables: { deps: Deps } }>();

app.use('/app/*', async (c, next) => {
  await next();
  c.header('Content-Security-Policy', CSP);
  c.header('X-Content-Type-Options', 'nosniff');
  c.header('X-Frame-Options', 'DENY');
  c.header('Referrer-Policy', 'no-referrer');
  c.header('Cache-Control', 'no-cache');
});
app.use('/app/*', etag());

app.get('/app', (c) => c.redirect('/app/', 308));

// The enrollment link (/app/enroll#<code>) opens the same page; the code stays in the fragment.
for (const path of ['/app/', '/app/enroll']) {
  app.get(path, async (c) => {
    const { body, type } = await file(reader(c), 'app/index.html');
    return c.body(body as Uint8Array<ArrayBuffer>, 200, { 'content-type': type });
  });
}

app.get('/app/messages/:file{[a-z]{2}\\.json}', (c) => {
  const lang = c.req.param('file').slice(0, 2);
  if (!isLanguage(lang)) throw new AppError('not_found', `no messages in ${lang}`);
  return c.json(CATALOGUES[lang].app);
});

// What the app needs before any token: the number to text SOS to (TWILIO_FROM_NUMBER; null with
// the phone simulator), so Text SOS is on every screen, the setup and signed-out ones too.
app.get('/app/config.json', (c) => c.json({ textSosTo: c.get('deps').smsNumber ?? null }));

app.get('/app/sw.js', async (c) => {
  const read = reader(c);
  let body = workers.get(read);
  if (!body) {
    body = serviceWorker(read);
    workers.set(read, body);
    body.catch(() => workers.delete(read));
  }
  return c.body((await body) as Uint8Array<ArrayBuffer>, 200, { 'content-type': TYPES.js });
});

app.get('/app/*', async (c) => {
  const { body, type } = await file(reader(c), c.req.path.slice(1));
  return c.body(body as Uint8Array<ArrayBuffer>, 200, { 'content-type': type });
});

export default app;
