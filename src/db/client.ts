import postgres from 'postgres';

export type Sql = postgres.Sql<{}>;
export type TxSql = postgres.TransactionSql<{}>;

export interface ConnectOptions {
  max?: number;
  /** Name shown in pg_stat_activity. */
  applicationName?: string;
  /** Seconds before an idle connection is closed (default 60). */
  idleTimeout?: number;
  /**
   * This process's sender id, set on every connection as mayday.sender: the pages it claims are
   * leased to it (lease_owner), so that its advisory lock tells others whether it still lives.
   */
  sender?: string;
}

/** One pool per process on Node. Notices (e.g. "relation already exists, skipping") are not news. */
export function connect(url: string, opts: ConnectOptions = {}): Sql {
  return postgres(url, {
    max: opts.max ?? 10,
    onnotice: () => {},
    connection: { application_name: opts.applicationName ?? 'mayday', ...(opts.sender ? { 'mayday.sender': opts.sender } : {}) },
    // A dead server must not hang requests forever: fail fast, let the caller answer 503.
    connect_timeout: 5,
    // postgres.js waits before reconnecting, (3^n / 100) s after the pool's n-th failed connection,
    // up to 20 s: with the server down, a query queued behind a connection that waits answered
    // only tens of seconds later (a 503 the SOS app needs at once), and the pool reconnected up
    // to 20 s after the server came back. Never wait more than half a second.
    backoff: (attempt: number) => Math.min(0.5, 0.025 * 2 ** attempt),
    idle_timeout: opts.idleTimeout ?? 60,
  });
}

/** SQLSTATE of a PostgreSQL error, if it is one. */
export function sqlState(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) ? code : undefined;
}

/**
 * Open every connection of a pool (its `max`) now and load, in each server process, what the
 * first SOS and page would otherwise load while a driver waits: the hot tables and their
 * indexes. A pool opens connections lazily, so without this the first burst after a start paid
 * for twenty new server processes at once (up to 1.5 s at p99 in bench:paging's first seconds).
 */
export async function warmPool(sql: Sql): Promise<void> {
  await Promise.all(Array.from({ length: sql.options.max }, () => sql`
    SELECT 1 FROM incidents i, pages p, incident_events e, timeline_heads h, users u, tokens t, zones z, incident_locations l
    WHERE i.id = p.incident_id AND e.incident_id = i.id AND h.incident_id = i.id AND u.id = i.driver_id AND t.user_id = u.id
      AND z.id = i.zone_id AND l.incident_id = i.id AND i.status = 'open' AND p.status = 'queued' LIMIT 0`));
}
