import { Writable } from 'node:stream';
import type { TwilioConfig } from '../../src/adapters/twilio/twilio';
import type { App } from '../../src/app';
import { connect, type Sql } from '../../src/db/client';
import { loadMigrations } from '../../src/db/migrations-fs';
import type { Deps } from '../../src/deps';
import type { Engine } from '../../src/escalation/engine';
import { wireNode, type WireOptions } from '../../src/entry/wire';
import { createLogger } from '../../src/log';
import type { PagingOptions } from '../../src/paging/pager';
import type { Simulator } from '../../src/simulator/simulator';
import { atFileEnd, freshDatabase } from './db';

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
  engine: Engine;
  simulator?: Simulator;
  logs: LogCapture;
  req<T = any>(method: string, path: string, opts?: { token?: string; body?: unknown; headers?: Record<string, string> }): Promise<Res<T>>;
  get<T = any>(path: string, token?: string): Promise<Res<T>>;
  post<T = any>(path: string, body: unknown, token?: string): Promise<Res<T>>;
  put<T = any>(path: string, body: unknown, token?: string): Promise<Res<T>>;
}

export const PUBLIC_BASE_URL = 'https://mayday.test';

/**
 * The real app on a database of this file's own; requests go in-process through app.request().
 * Pages go to the phone simulator, or with `twilio` to the Twilio REST API (stood in for by msw).
 * The engine is not started: tests drive it with `engine.tick(asOf)`.
 */
export async function testApp(
  opts: {
    logLevel?: string; twilio?: TwilioConfig; paging?: Partial<PagingOptions>; onScheduled?: WireOptions['onScheduled'];
    /** SOS intake gets connections of its own, as on Node (DATABASE_INTAKE_POOL_SIZE). */
    intakePool?: boolean;
    /** How long the zone shapes are kept (default 0: every SOS reads them). */
    zoneCacheMs?: number;
    /** The engine's longest wait between ticks once started (default 1 s). */
    sweepMs?: number;
    /** Noonlight's dispatch API (a stand-in); without it the dispatch-center simulator. */
    noonlight?: WireOptions['noonlight'];
  } = {},
): Promise<TestApp> {
  const { url, sql } = await freshDatabase();
  const intakeSql = opts.intakePool ? connect(url, { max: 2, idleTimeout: 2, applicationName: 'mayday-intake' }) : undefined;
  if (intakeSql) atFileEnd(() => intakeSql.end({ timeout: 1 }));
  const logs = new LogCapture();
  const log = createLogger({ level: opts.logLevel ?? 'info', destination: logs });
  const { app, deps, engine, simulator } = wireNode({
    sql,
    intakeSql,
    log,
    adminToken: ADMIN_TOKEN,
    publicBaseUrl: PUBLIC_BASE_URL,
    twilio: opts.twilio,
    noonlight: opts.noonlight,
    schemaVersion: Math.max(...loadMigrations().map((m) => m.id)),
    paging: opts.paging,
    zoneCacheMs: opts.zoneCacheMs ?? 0,
    onScheduled: opts.onScheduled,
    engine: { sweepMs: opts.sweepMs },
  });
  atFileEnd(() => engine.stop());
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
    app, sql, url, deps, engine, simulator, logs, req,
    get: (path, token) => req('GET', path, { token }),
    post: (path, body, token) => req('POST', path, { token, body }),
    put: (path, body, token) => req('PUT', path, { token, body }),
  };
}
