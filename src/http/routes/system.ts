import { createRoute, z } from '@hono/zod-openapi';
import { notReady, schemaState } from '../../db/schema-version';
import { AppError } from '../../errors';
import { allow, authenticate } from '../middleware';
import { json, router } from '../openapi';

const app = router();
const Health = z.object({ status: z.string() }).openapi('Health');

app.openapi(
  createRoute({ operationId: 'getHealth', method: 'get', path: '/healthz', tags: ['system'], security: [], summary: 'Alive', responses: { 200: json(Health, 'The process answers') } }),
  (c) => c.json({ status: 'ok' }, 200),
);

app.openapi(
  createRoute({
    operationId: 'getReadiness', method: 'get', path: '/readyz', tags: ['system'], security: [], summary: 'Ready: database reachable and migrated',
    responses: { 200: json(Health, 'Ready'), 503: json(Health.extend({ reason: z.string() }), 'Not ready') },
  }),
  async (c) => {
    const deps = c.get('deps');
    if (deps.draining?.()) return c.json({ status: 'unavailable', reason: 'shutting down' }, 503);
    try {
      const db = await Promise.race([
        schemaState(deps.sql),
        new Promise<never>((_, rej) => setTimeout(() => rej(new Error('timeout')), 2_000)),
      ]);
      const reason = notReady(db, deps.schemaVersion, deps.definitionsChecksum);
      if (reason) return c.json({ status: 'unavailable', reason }, 503);
      return c.json({ status: 'ready' }, 200);
    } catch {
      return c.json({ status: 'unavailable', reason: 'database unreachable' }, 503);
    }
  },
);

const DOCS_PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Mayday API</title><link rel="stylesheet" href="/docs/assets/swagger-ui.css"></head>
<body><div id="ui"><p style="font-family:sans-serif;padding:1rem">The interactive docs need swagger-ui's files, which this runtime does not serve. The document itself is at <a href="/openapi.json">/openapi.json</a>.</p></div>
<script src="/docs/assets/swagger-ui-bundle.js"></script>
<script>if (window.SwaggerUIBundle) SwaggerUIBundle({ url: '/openapi.json', dom_id: '#ui', persistAuthorization: true });</script>
</body></html>`;

app.get('/docs', (c) => c.html(DOCS_PAGE));

/** Prometheus metrics, for the admin (scrape with the admin token as a bearer token). */
app.get('/metrics', authenticate, allow('admin'), async (c) => {
  const m = c.get('deps').metrics;
  if (!m) throw new AppError('not_found', 'metrics are not kept by this runtime (Cloudflare Workers: use its analytics)');
  const { body, contentType } = await m.render();
  return c.body(body, 200, { 'content-type': contentType });
});
app.get('/docs/assets/:name{swagger-ui\\.css|swagger-ui-bundle\\.js}', async (c) => {
  const asset = await c.get('deps').docsAsset?.(c.req.param('name'));
  if (!asset) return c.notFound();
  return c.body(asset.body as Uint8Array<ArrayBuffer>, 200, { 'content-type': asset.type, 'cache-control': 'public, max-age=86400' });
});

export default app;
