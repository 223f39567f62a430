import { Writable } from 'node:stream';
import { buildApp, type App } from '../../src/app';
import { Authenticator } from '../../src/auth/authenticator';
import type { Sql } from '../../src/db/client';
import { loadMigrations } from '../../src/db/migrations-fs';
import type { Deps } from '../../src/deps';
import { createLogger } from '../../src/log';
import { ZoneDirectory } from '../../src/zones/store';
import { freshDatabase } from './db';

export const ADMIN_TOKEN = 'test-admin-token-0123456789';

export interface Res<T = any> {
  status: number;
  body: T;
  headers: Headers;
}

/** Every log line the app wrote, as parsed JSON: tests read it to check what is (not) logged. */
export class LogCapture extends Writable {
  lines: string[] = [];
  _write(chunk: Buffer, _enc: string, cb: () => void) {
    this.lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
    cb();
  }
}

export interface TestApp {
  app: App;
  sql: Sql;
  url: string;
  deps: Deps;
  logs: LogCapture;
  req<T = any>(method: string, path: string, opts?: { token?: string; body?: unknown; headers?: Record<string, string> }): Promise<Res<T>>;
  get<T = any>(path: string, token?: string): Promise<Res<T>>;
  post<T = any>(path: string, body: unknown, token?: string): Promise<Res<T>>;
  put<T = any>(path: string, body: unknown, token?: string): Promise<Res<T>>;
}

/** The real app on a database of this file's own; requests go in-process through app.request(). */
export async function testApp(opts: { logLevel?: string } = {}): Promise<TestApp> {
  const { url, sql } = await freshDatabase();
  const logs = new LogCapture();
  const log = createLogger({ level: opts.logLevel ?? 'info', destination: logs });
  const deps: Deps = {
    sql,
    log,
    auth: new Authenticator(sql, ADMIN_TOKEN),
    zones: new ZoneDirectory(sql, 0),
    publicBaseUrl: 'http://mayday.test',
    schemaVersion: Math.max(...loadMigrations().map((m) => m.id)),
  };
  const app = buildApp(deps);
  const req = async (method: string, path: string, o: { token?: string; body?: unknown; headers?: Record<string, string> } = {}) => {
    const headers: Record<string, string> = { ...o.headers };
    if (o.token) headers.authorization = `Bearer ${o.token}`;
    let body: string | undefined;
    if (o.body !== undefined) {
      body = typeof o.body === 'string' ? o.body : JSON.stringify(o.body);
      headers['content-type'] ??= 'application/json';
      headers['content-length'] ??= String(Buffer.byteLength(body));
    }
    const res = await app.request(path, { method, headers, body });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      /* not JSON */
    }
    return { status: res.status, body: parsed as any, headers: res.headers };
  };
  return {
    app, sql, url, deps, logs, req,
    get: (path, token) => req('GET', path, { token }),
    post: (path, body, token) => req('POST', path, { token, body }),
    put: (path, body, token) => req('PUT', path, { token, body }),
  };
}
