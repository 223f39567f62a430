/**
 * The pool with its server gone and back (found by scripts/chaos-db.ts): postgres.js's default
 * reconnect backoff grows to 20 s across the pool, so with the database down a queued query
 * waited tens of seconds for its 503, and after the database came back the pool took up to 20 s
 * to try again. Here the database is reached through a loopback proxy that is shut and reopened.
 */
import { createServer, connect as tcp, type Server, type Socket } from 'node:net';
import { afterAll, describe, expect, it, inject } from 'vitest';
import { connect, warmPool } from '../src/db/client';
import { freshDatabase } from './helpers/db';
import { toAppError } from '../src/http/errors';

describe('database client', () => {
  const target = new URL(inject('pgAdminUrl'));
  const sockets = new Set<Socket>();
  let server: Server | undefined;
  let port = 0;
  const open = () =>
    new Promise<void>((res) => {
      server = createServer((down) => {
        const up = tcp(Number(target.port || 5432), target.hostname);
        for (const s of [down, up]) (sockets.add(s), s.on('error', () => s.destroy()), s.on('close', () => sockets.delete(s)));
        down.pipe(up).pipe(down);
      });
      server.listen(port, '127.0.0.1', () => ((port = (server!.address() as { port: number }).port), res()));
    });
  const shut = () =>
    new Promise<void>((res) => {
      server!.close(() => res());
      for (const s of sockets) s.destroy();
    });
  afterAll(async () => {
    if (server?.listening) await shut();
  });

  it('answers every query at once while the server is down, and reconnects at once when it is back', async () => {
    await open();
    const u = new URL(target);
    u.host = `127.0.0.1:${port}`;
    const sql = connect(u.toString(), { max: 20 });
    try {
      expect((await sql`SELECT 1 AS one`)[0].one).toBe(1);

      await shut();
      const t0 = Date.now();
      const errors = await Promise.all(Array.from({ length: 60 }, () => sql`SELECT 1`.then(() => null, (e: unknown) => e)));
      const took = Date.now() - t0;
      expect(errors.map((e) => (e === null ? "answered" : toAppError(e).code === "unavailable" ? "503" : `${(e as { code?: string }).code}: ${(e as Error).message}`)).filter((x) => x !== "503")).toEqual([]);
      expect(took).toBeLessThan(5_000); // was ~35 s: queued queries waited out the pool's growing backoff

      await open(); // the same port
      const t1 = Date.now();
      for (;;) {
        const ok = await sql`SELECT 1 AS one`.then((r) => r[0].one === 1, () => false);
        if (ok) break;
        expect(Date.now() - t1).toBeLessThan(3_000);
        await new Promise((r) => setTimeout(r, 50));
      }
      expect(Date.now() - t1).toBeLessThan(3_000); // was up to 20 s
    } finally {
      await sql.end({ timeout: 1 });
    }
  });
});

describe('warmPool', () => {
  it('opens every connection of the pool (its max) at once, each having run the warm-up query', async () => {
    const { url, sql: admin } = await freshDatabase();
    const name = `mayday-warm-${process.pid}`;
    const pool = connect(url, { max: 5, applicationName: name });
    try {
      const count = async () => (await admin<{ n: number }[]>`SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = ${name}`)[0].n;
      expect(await count()).toBe(0); // a pool connects lazily
      await warmPool(pool);
      expect(await count()).toBe(5);
      // Each of them ran the warm-up query (warmPool throws if it cannot be planned).
      const [{ n }] = await admin<{ n: number }[]>`SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = ${name} AND query LIKE '%incident_events%'`;
      expect(n).toBe(5);
    } finally {
      await pool.end({ timeout: 2 });
    }
  });
});
