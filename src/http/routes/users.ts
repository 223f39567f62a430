import { createRoute, z } from '@hono/zod-openapi';
import { addToken, revokeTokens } from '../../auth/store';
import type { Sql } from '../../db/client';
import { notFound } from '../../errors';
import { roleOfUser } from '../../users/store';
import { allow } from '../middleware';
import { bearer, errors, IdParam, json, notFoundError, router } from '../openapi';

/** Token management by the admin: a new token for someone who lost theirs; revocation. */
const app = router();
const tags = ['admin'];

async function roleOf(sql: Sql, id: string) {
  const role = await roleOfUser(sql, id);
  if (!role) throw notFound('user');
  return role;
}

app.openapi(
  createRoute({
    operationId: 'issueToken', method: 'post', path: '/v1/users/{id}/tokens', tags, security: bearer, request: { params: IdParam },
    summary: 'Issue another token for a user (shown once)',
    responses: { 201: json(z.object({ userId: z.uuid(), token: z.string() }), 'The new token'), ...errors, ...notFoundError },
    middleware: [allow('admin')] as const,
  }),
  async (c) => {
    const { id } = c.req.valid('param');
    const sql = c.get('deps').sql;
    const token = await addToken(sql, id, await roleOf(sql, id));
    return c.json({ userId: id, token }, 201);
  },
);

app.openapi(
  createRoute({
    operationId: 'revokeTokens', method: 'delete', path: '/v1/users/{id}/tokens', tags, security: bearer, request: { params: IdParam },
    summary: 'Revoke every token of a user; they stop working at once, on every instance',
    responses: { 200: json(z.object({ userId: z.uuid(), revoked: z.number().int() }), 'Revoked'), ...errors, ...notFoundError },
    middleware: [allow('admin')] as const,
  }),
  async (c) => {
    const { id } = c.req.valid('param');
    const deps = c.get('deps');
    await roleOf(deps.sql, id);
    const revoked = await revokeTokens(deps.sql, id);
    deps.auth.forgetUser(id);
    c.get('log').info({ userId: id, revoked }, 'tokens revoked');
    return c.json({ userId: id, revoked }, 200);
  },
);

export default app;
