import { afterAll, inject } from 'vitest';
import { connect, type Sql } from '../../src/db/client';

export const withDatabase = (url: string, db: string) => {
  const u = new URL(url);
  u.pathname = `/${db}`;
  return u.toString();
};

/**
 * Cleanups of the databases this file made, run once after the file. A hook registered while a
 * test runs is not run by vitest, and most databases are made inside a test (a scene per test),
 * so each used to outlive its file: on a shared server (TEST_DATABASE_URL) every run of the
 * suite left a couple of hundred behind.
 */
const cleanups: (() => unknown)[] = [];
afterAll(async () => {
  // Last made, first undone: an app's engine stops before its database goes.
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** Run `fn` once the test file is done (whether called while collecting or inside a test). */
export function atFileEnd(fn: () => unknown) {
  cleanups.push(fn);
}

/**
 * A database of this test file's own, copied from the migrated template; dropped after the file.
 */
export async function freshDatabase(opts: { migrated?: boolean } = {}): Promise<{ url: string; sql: Sql }> {
  const adminUrl = inject('pgAdminUrl');
  const name = `mayday_t_${Math.random().toString(36).slice(2, 10)}`;
  const admin = connect(adminUrl, { max: 1 });
  // CREATE DATABASE ... TEMPLATE needs the template to be idle; retry briefly if another file is copying it.
  for (let i = 0; ; i++) {
    try {
      await admin.unsafe(opts.migrated === false ? `CREATE DATABASE ${name}` : `CREATE DATABASE ${name} TEMPLATE ${inject('pgTemplate')}`);
      break;
    } catch (e) {
      if (i > 50 || (e as { code?: string }).code !== '55006') throw e;
      await new Promise((r) => setTimeout(r, 50 + Math.random() * 100));
    }
  }
  const url = withDatabase(adminUrl, name);
  // Few connections, closed soon when idle: a file may hold many apps (one per scene) and the
  // suite also runs against a shared server with max_connections = 100.
  const sql = connect(url, { max: 5, idleTimeout: 2 });
  atFileEnd(async () => {
    await sql.end({ timeout: 1 });
    await admin.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).catch(() => {});
    await admin.end();
  });
  return { url, sql };
}
