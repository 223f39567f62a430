/**
 * One PostgreSQL for the whole run: TEST_DATABASE_URL when set (any database on a server where
 * we may CREATE DATABASE), else a fresh embedded one in a temporary directory. Migrations run
 * once into a template; every test file then gets its own copy of it (test/helpers/db.ts).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { connect } from '../../src/db/client';
import { startEmbedded, type EmbeddedPostgres } from '../../src/db/embedded';
import { migrate } from '../../src/db/migrate';
import { loadMigrations } from '../../src/db/migrations-fs';

declare module 'vitest' {
  export interface ProvidedContext {
    pgAdminUrl: string;
    pgTemplate: string;
  }
}

const withDatabase = (url: string, db: string) => {
  const u = new URL(url);
  u.pathname = `/${db}`;
  return u.toString();
};

export default async function setup(project: TestProject) {
  let embedded: EmbeddedPostgres | undefined;
  let dir: string | undefined;
  let adminUrl = process.env.TEST_DATABASE_URL;
  if (!adminUrl) {
    dir = mkdtempSync(join(tmpdir(), 'mayday-test-'));
    embedded = await startEmbedded({ dataDir: dir });
    adminUrl = embedded.adminUrl;
  }
  const template = `mayday_tpl_${process.pid}_${Date.now().toString(36)}`;
  const admin = connect(adminUrl, { max: 1 });
  await admin.unsafe(`CREATE DATABASE ${template}`);
  const tpl = connect(withDatabase(adminUrl, template), { max: 1 });
  await migrate(tpl, loadMigrations());
  await tpl.end();
  project.provide('pgAdminUrl', adminUrl);
  project.provide('pgTemplate', template);

  return async () => {
    await admin.unsafe(`DROP DATABASE IF EXISTS ${template} WITH (FORCE)`).catch(() => {});
    await admin.end();
    await embedded?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  };
}
