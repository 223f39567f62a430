import type { Sql } from '../db/client';
import { hashToken, timingSafeEqual } from './crypto';
import type { Principal } from './principal';
import { findPrincipalByTokenHash } from './store';

const ADMIN: Principal = { id: 'admin', role: 'admin', name: 'Administrator' };

/**
 * Token → principal, with a small cache so the SOS path does not pay a database round trip per
 * request. Entries live `ttlMs`; revocation clears the cache of this instance at once (and other
 * instances within `ttlMs`).
 */
export class Authenticator {
  private cache = new Map<string, { p: Principal; until: number }>();
  private adminHash?: Promise<string>;

  constructor(
    private sql: Sql,
    adminToken: string | undefined,
    private ttlMs = 5_000,
    private maxEntries = 10_000,
  ) {
    if (adminToken) this.adminHash = hashToken(adminToken);
  }

  async authenticate(token: string): Promise<Principal | undefined> {
    const hash = await hashToken(token);
    if (this.adminHash && timingSafeEqual(hash, await this.adminHash)) return ADMIN;
    const now = Date.now();
    const hit = this.cache.get(hash);
    if (hit && hit.until > now) return hit.p;
    const p = await findPrincipalByTokenHash(this.sql, hash);
    if (!p) {
      this.cache.delete(hash);
      return undefined;
    }
    if (this.cache.size >= this.maxEntries) this.cache.clear();
    this.cache.set(hash, { p, until: now + this.ttlMs });
    return p;
  }

  /** Forget tokens revoked on other instances as soon as they say so (NOTIFY mayday_tokens). */
  async listen(): Promise<() => Promise<void>> {
    const l = await this.sql.listen('mayday_tokens', (userId) => this.forgetUser(userId));
    return () => l.unlisten();
  }

  forgetUser(userId: string) {
    for (const [k, v] of this.cache) if (v.p.id === userId) this.cache.delete(k);
  }
}
