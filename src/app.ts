import { OpenAPIHono } from '@hono/zod-openapi';
import { requestId } from 'hono/request-id';
import type { Deps } from './deps';
import type { AppEnv } from './http/context';
import { AppError } from './errors';
import { errorResponse, toAppError } from './http/errors';
import { authenticate, deferredTokenError, limitBody, requireJson } from './http/middleware';
import { lazyChild, maskPathPhones } from './log';
import admin from './http/routes/admin';
import driverAppApi, { ENROLL_PATH } from './http/routes/app';
import audit from './http/routes/audit';
import dispatch from './http/routes/dispatch';
import incidents from './http/routes/incidents';
import readiness from './http/routes/readiness';
import lifecycle from './http/routes/lifecycle';
import simulator from './http/routes/simulator';
import support from './http/routes/support';
import webhooks from './http/routes/webhooks';
import system from './http/routes/system';
import timeline from './http/routes/timeline';
import webConsole from './console/app';
import driverApp from './driver-app/serve';
import users from './http/routes/users';

/** Largest JSON body accepted: an SOS is a few hundred bytes; a zone boundary may be larger. */
export const MAX_BODY_BYTES = 256 * 1024;

/** The whole HTTP surface. Imports no runtime: Node, Workers and tests each supply `deps`. */
export function buildApp(deps: Deps) {
  const app = new OpenAPIHono<AppEnv>();

  app.use(
    requestId({ headerName: 'X-Request-Id', limitLength: 64 }),
    async (c, next) => {
      c.set('deps', deps);
      const log = lazyChild(deps.log, { requestId: c.get('requestId') });
      c.set('log', log);
      const start = performance.now();
      await next();
      log.debug({ method: c.req.method, path: maskPathPhones(c.req.path), status: c.res.status, ms: Math.round((performance.now() - start) * 10) / 10 }, 'request');
    },
  );
  app.use(
    '/v1/*',
    limitBody(MAX_BODY_BYTES, 'request body'),
    requireJson,
    // An enrollment's code is its credential: a token sent along (a phone's old one) is not judged.
    (c, next) => (c.req.path === ENROLL_PATH ? next() : authenticate(c, next)),
  );
  app.use('/webhooks/*', limitBody(64 * 1024, 'webhook body'));

  app.route('/', system);
  app.route('/', admin);
  app.route('/', incidents);
  app.route('/', timeline);
  app.route('/', audit);
  app.route('/', readiness);
  app.route('/', users);
  app.route('/', lifecycle);
  app.route('/', dispatch);
  app.route('/', support);
  app.route('/', simulator);
  app.route('/', driverAppApi);
  app.route('/', webhooks);
  app.route('/console', webConsole);
  app.route('/', driverApp);

  app.openAPIRegistry.registerComponent('securitySchemes', 'bearer', { type: 'http', scheme: 'bearer' });
  app.doc31('/openapi.json', {
    openapi: '3.1.0',
    info: {
      title: 'Mayday',
      version: '1.0.0',
      description: 'The emergency lane for delivery drivers: SOS intake, paging and escalation, check-ins, audit. Every error is `{"error": {code, message, requestId}}`.',
    },
    // The address Twilio and clients are given (PUBLIC_BASE_URL), which the webhooks' signatures also cover.
    servers: [{ url: deps.publicBaseUrl, description: 'This instance' }],
  });

  app.notFound((c) => errorResponse(c, new AppError('not_found', `no route for ${c.req.method} ${c.req.path}`)));
  app.onError(async (err, c) => {
    // A token the SOS route was to judge comes first: 401 or 403 before any other error, as
    // when it is judged up front.
    const log = c.get('log') ?? deps.log;
    const first = await deferredTokenError(c).catch((lookup: unknown) => toAppError(lookup, log)); // the database down: 503
    const e = first ?? toAppError(err, log);
    if (e.status >= 500) log.warn({ code: e.code }, e.message);
    return errorResponse(c, e);
  });
  return app;
}

export type App = ReturnType<typeof buildApp>;
