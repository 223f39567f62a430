import type { Sql } from '../db/client';
import { hashToken, timingSafeEqual } from './crypto';
import type { Principal } from './principal';
import { findPrincipalByTokenHash, onTokensRevoked } from './store';

const ADMIN: Principal = { id: 'admin', role: 'admin', name: 'Administrator' };

/**
 * Token → principal, with a small cache so the SOS path does not pay a database round trip per
 * request. Entries live `ttlMs`; revocation clears the cache of this instance at once (and other
 * instances within `ttlMs`).
 */
export class Authenticator {
  private cache = new Map<string, { p: Principal; until: number }>();
  private adminHash?: Promise<string>;
  /** Counts revocations heard (forgetUser()): a lookup that overlapped one is not cached. */
  private epoch = 0;

  constructor(
    private sql: Sql,
    adminToken: string | undefined,
    private ttlMs = 5_000,
    private maxEntries = 10_000,
  ) {
    if (adminToken) this.adminHash = hashToken(adminToken);
  }

  async authenticate(token: string): Promise<Principal | undefined> {
    const { principal, hash } = await this.peek(token);
    return principal ?? this.byHash(hash);
  }

  /**
   * What is known of `token` without the database: the administrator, or a cached principal;
   * and its hash, for a lookup elsewhere (byHash(), or an SOS's own call: sos_open_by_token()).
   */
  async peek(token: string): Promise<{ principal?: Principal; hash: string; epoch: number }> {
    const hash = await hashToken(token);
    const epoch = this.epoch;
    if (this.adminHash && timingSafeEqual(hash, await this.adminHash)) return { principal: ADMIN, hash, epoch };
    const hit = this.cache.get(hash);
    if (hit && hit.until > Date.now()) return { principal: hit.p, hash, epoch };
    return { hash, epoch };
  }

  /** Whether this is the hash of the administrator's token (a console session keeps only the hash). */
  async isAdminHash(hash: string): Promise<boolean> {
    return !!this.adminHash && timingSafeEqual(hash, await this.adminHash);
  }

  /** The holder of the token with this hash, looked up (and cached), or undefined. */
  async byHash(hash: string): Promise<Principal | undefined> {
    const epoch = this.epoch;
    const p = await findPrincipalByTokenHash(this.sql, hash);
    if (!p) {
      this.cache.delete(hash);
      return undefined;
    }
    this.remember(hash, p, epoch);
    return p;
  }

  /**
   * Cache what a lookup found for this hash, unless a revocation was heard since `epoch` (when
   * the lookup started): the lookup may have read the token before it was revoked.
   */
  remember(hash: string, p: Principal, epoch: number) {
    if (epoch !== this.epoch) return;
    if (this.cache.size >= this.maxEntries) this.cache.clear();
    this.cache.set(hash, { p, until: Date.now() + this.ttlMs });
  }

  /** Forget tokens revoked on other instances as soon as they say so (NOTIFY mayday_tokens). */
  async listen(): Promise<() => Promise<void>> {
    return onTokensRevoked(this.sql, (userId) => this.forgetUser(userId));
  }

  forgetUser(userId: string) {
    this.epoch++;
    for (const [k, v] of this.cache) if (v.p.id === userId) this.cache.delete(k);
  }
}
