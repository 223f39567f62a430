import { afterAll, inject } from 'vitest';
import { connect, type Sql } from '../../src/db/client';

export const withDatabase = (url: string, db: string) => {
  const u = new URL(url);
  u.pathname = `/${db}`;
  return u.toString();
};

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
  afterAll(async () => {
    await sql.end({ timeout: 1 });
    await admin.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).catch(() => {});
    await admin.end();
  });
  return { url, sql };
}
