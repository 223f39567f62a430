import type { Context, MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import type { Principal, Role } from '../auth/principal';
import { driverShaped } from '../auth/crypto';
import type { AppEnv } from './context';
import { AppError } from '../errors';

/** Authenticate the bearer token if there is one; routes then call requireRole(). */
export const authenticate: MiddlewareHandler<AppEnv> = async (c, next) => {
  const header = c.req.header('authorization');
  if (header) {
    const m = /^Bearer\s+(\S{1,512})\s*$/i.exec(header);
    if (!m) throw new AppError('unauthorized', 'Authorization must be "Bearer <token>"');
    const auth = c.get('deps').auth;
    const { principal, hash, epoch } = await auth.peek(m[1]);
    if (!principal && c.req.method === 'POST' && c.req.path === SOS_PATH && driverShaped(m[1])) {
      // A driver's token not in the cache (a driver's first press, nearly always): the SOS's own
      // call judges it (openSos() with the token's hash), which saves a round trip before every
      // real SOS. Only driver-shaped tokens: anything else is judged here, before it can take a
      // connection of the intake's pool.
      c.set('deferredToken', { hash, epoch });
    } else {
      const p = principal ?? (await auth.byHash(hash));
      if (!p) throw new AppError('unauthorized', 'unknown or revoked token');
      setPrincipal(c, p);
    }
  }
  await next();
};

/** The one path whose bearer token may be judged by the route itself (see authenticate). */
export const SOS_PATH = '/v1/sos';

export function setPrincipal(c: Context<AppEnv>, p: Principal) {
  c.set('principal', p);
  c.set('log', c.get('log').child({ role: p.role, principalId: p.id }));
}

/**
 * For a request whose token was deferred (authenticate) and that ends before the route judged
 * it: the answer the token would have had first, 401 or 403, if any. Looked up now.
 */
export async function deferredTokenError(c: Context<AppEnv>): Promise<AppError | undefined> {
  const d = c.get('deferredToken');
  if (!d || c.get('principal')) return undefined;
  const p = await c.get('deps').auth.byHash(d.hash); // a failure (the database down) is the caller's to answer
  if (!p) return new AppError('unauthorized', 'unknown or revoked token');
  setPrincipal(c, p);
  if (d.roles && !d.roles.includes(p.role)) return new AppError('forbidden', `not allowed for role ${p.role}`);
  return undefined;
}

/** The caller, who must hold one of `roles`: 401 without a token, 403 with the wrong role. */
export function requireRole<R extends Role>(c: Context<AppEnv>, ...roles: R[]): Principal & { role: R } {
  const p = c.get('principal');
  if (!p) throw new AppError('unauthorized', 'a bearer token is required');
  if (!(roles as Role[]).includes(p.role)) throw new AppError('forbidden', `not allowed for role ${p.role}`);
  return p as Principal & { role: R };
}

const BODY_METHODS = new Set(['POST', 'PUT', 'PATCH']);

/** JSON APIs take JSON: a body of another type is refused with 415 before anything parses it. */
export const requireJson: MiddlewareHandler<AppEnv> = async (c, next) => {
  if (BODY_METHODS.has(c.req.method)) {
    const length = c.req.header('content-length');
    const hasBody = (length !== undefined && length !== '0') || c.req.header('transfer-encoding') !== undefined;
    const type = c.req.header('content-type') ?? '';
    if (hasBody && !/^application\/(?:[\w.+-]+\+)?json\s*(?:;|$)/i.test(type)) {
      throw new AppError('unsupported_media_type', 'send the body as application/json');
    }
  }
  await next();
};

/**
 * Route middleware: the caller must hold one of `roles`. It runs before the route's validators,
 * so a caller without the right token learns nothing from validation errors.
 */
export const allow = (...roles: Role[]): MiddlewareHandler<AppEnv> => async (c, next) => {
  const deferred = c.get('deferredToken');
  if (deferred && !c.get('principal')) deferred.roles = roles; // judged by the route (or onError)
  else requireRole(c, ...roles);
  await next();
};

/** The caller of a route guarded by allow(). */
export function principal(c: Context<AppEnv>): Principal {
  const p = c.get('principal');
  if (!p) throw new AppError('unauthorized', 'a bearer token is required');
  return p;
}

/**
 * Refuse a body over `maxSize` bytes with 413 (payload_too_large). A request that declares its
 * length (the HTTP parser never lets the body run past it) is judged by the header alone, so its
 * body stays unread here and the route reads it once, straight from the socket; a chunked one
 * goes through hono's bodyLimit, which counts as it reads. (hono's bodyLimit alone turns every
 * request into a web-streams Request on Node, about a tenth of an SOS's CPU.)
 */
export function limitBody(maxSize: number, what: string): MiddlewareHandler<AppEnv> {
  const tooLarge = (): never => {
    throw new AppError('payload_too_large', `${what} over ${maxSize} bytes`);
  };
  const counting = bodyLimit({ maxSize, onError: tooLarge });
  return async (c, next) => {
    if (c.req.method === 'GET' || c.req.method === 'HEAD') return next();
    const length = c.req.header('content-length');
    if (length !== undefined && c.req.header('transfer-encoding') === undefined) {
      if (!(Number(length) <= maxSize)) tooLarge();
      return next();
    }
    return counting(c, next);
  };
}
