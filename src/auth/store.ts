import type { Sql } from '../db/client';
import { hashToken, newToken } from './crypto';
import type { Principal, Role } from './principal';

const PREFIX: Record<Exclude<Role, 'admin'>, string> = {
  driver: 'drv',
  supervisor: 'sup',
  safety_lead: 'sfl',
  auditor: 'aud',
  agent: 'agt',
};

/** A fresh token and its stored hash. The token itself is shown once and never kept. */
export async function mintToken(role: Exclude<Role, 'admin'>) {
  const token = newToken(PREFIX[role]);
  return { token, hash: await hashToken(token) };
}

export async function findPrincipalByTokenHash(sql: Sql, hash: string): Promise<Principal | undefined> {
  const [row] = await sql<Principal[]>`
    SELECT u.id, u.role, u.name FROM tokens t JOIN users u ON u.id = t.user_id
    WHERE t.token_hash = ${hash} AND t.revoked_at IS NULL`;
  return row;
}

export async function addToken(sql: Sql, userId: string, role: Exclude<Role, 'admin'>): Promise<string> {
  const { token, hash } = await mintToken(role);
  await sql`INSERT INTO tokens (token_hash, user_id) VALUES (${hash}, ${userId})`;
  return token;
}

/** Revoke every live token of a user; returns how many. Other instances hear of it (NOTIFY) and forget it at once. */
export async function revokeTokens(sql: Sql, userId: string): Promise<number> {
  const [row] = await sql<{ n: number }[]>`
    WITH r AS (UPDATE tokens SET revoked_at = now() WHERE user_id = ${userId} AND revoked_at IS NULL RETURNING 1)
    SELECT count(*)::int AS n, pg_notify('mayday_tokens', ${userId}) FROM r`;
  return row.n;
}

/** Call `fn` with the user's id whenever any instance revokes that user's tokens; resolves to a function that stops listening. */
export async function onTokensRevoked(sql: Sql, fn: (userId: string) => void): Promise<() => Promise<void>> {
  const l = await sql.listen('mayday_tokens', fn);
  return () => l.unlisten();
}
