import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from '../src/config/env';

const SID = `AC${'0123456789abcdef'.repeat(2)}`;
const TWILIO = { TWILIO_ACCOUNT_SID: SID, TWILIO_AUTH_TOKEN: 'twilio-auth-token-xyz', TWILIO_FROM_NUMBER: '+15550100000' };

/** The ConfigError parseConfig throws for `env` (fails the test when it does not throw one). */
function configError(env: Record<string, string | undefined>): ConfigError {
  try {
    parseConfig(env);
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return e as ConfigError;
  }
  throw new Error(`parseConfig accepted ${JSON.stringify(env)}`);
}

describe('parseConfig: defaults', () => {
  it('runs with nothing set, using the contract defaults', () => {
    const c = parseConfig({});
    expect(c.port).toBe(3000);
    expect(c.dataDir).toBe('./.data');
    expect(c.logLevel).toBe('info');
    expect(c.publicBaseUrl).toBe('http://localhost:3000');
    expect(c.databaseUrl).toBeUndefined();
    expect(c.adminToken).toBeUndefined();
    expect(c.twilio).toBeUndefined();
    expect(c.pool).toEqual({ main: 6, intake: 3 });
  });

  it('takes the database pool sizes', () => {
    expect(parseConfig({ DATABASE_POOL_SIZE: '20', DATABASE_INTAKE_POOL_SIZE: '8' }).pool).toEqual({ main: 20, intake: 8 });
  });

  it('builds PUBLIC_BASE_URL from PORT when it is not set', () => {
    expect(parseConfig({ PORT: '8080' }).publicBaseUrl).toBe('http://localhost:8080');
  });

  it('keeps what is set', () => {
    const c = parseConfig({
      PORT: '4000', DATA_DIR: '/var/lib/mayday', LOG_LEVEL: 'silent', DATABASE_URL: 'postgres://u:p@db:5432/mayday',
      ADMIN_TOKEN: 'a-very-long-admin-token', PUBLIC_BASE_URL: 'https://mayday.example.com',
    });
    expect(c).toMatchObject({
      port: 4000, dataDir: '/var/lib/mayday', logLevel: 'silent', databaseUrl: 'postgres://u:p@db:5432/mayday',
      adminToken: 'a-very-long-admin-token', publicBaseUrl: 'https://mayday.example.com',
    });
    expect(parseConfig({ DATABASE_URL: 'postgresql://localhost/mayday' }).databaseUrl).toBe('postgresql://localhost/mayday');
  });

  it('defaults TWILIO_API_BASE_URL to https://api.twilio.com and takes another', () => {
    expect(parseConfig(TWILIO).twilio?.apiBaseUrl).toBe('https://api.twilio.com');
    expect(parseConfig({ ...TWILIO, TWILIO_API_BASE_URL: 'http://localhost:9999' }).twilio?.apiBaseUrl).toBe('http://localhost:9999');
  });
});

describe('parseConfig: bad values name the variable', () => {
  it.each([
    ['PORT', { PORT: 'abc' }],
    ['PORT', { PORT: '70000' }],
    ['LOG_LEVEL', { LOG_LEVEL: 'loud' }],
    ['DATABASE_URL', { DATABASE_URL: 'mysql://x' }],
    ['PUBLIC_BASE_URL', { PUBLIC_BASE_URL: 'not a url' }],
    ['TWILIO_API_BASE_URL', { TWILIO_API_BASE_URL: 'ftp://twilio' }],
    ['DATABASE_POOL_SIZE', { DATABASE_POOL_SIZE: '1' }],
    ['DATABASE_INTAKE_POOL_SIZE', { DATABASE_INTAKE_POOL_SIZE: 'many' }],
  ])('names %s for %j', (name, env) => {
    expect(configError(env).message).toContain(name);
  });

  it('names every bad variable at once', () => {
    const msg = configError({ PORT: 'abc', LOG_LEVEL: 'loud', DATABASE_URL: 'mysql://x' }).message;
    for (const name of ['PORT', 'LOG_LEVEL', 'DATABASE_URL']) expect(msg).toContain(name);
  });

  it('does not name variables that are fine', () => {
    const msg = configError({ PORT: 'abc', LOG_LEVEL: 'debug', DATA_DIR: '/tmp/x' }).message;
    expect(msg).not.toContain('LOG_LEVEL');
    expect(msg).not.toContain('DATA_DIR');
  });
});

describe('parseConfig: Twilio is all or nothing', () => {
  it('with only TWILIO_ACCOUNT_SID set, names the two that are missing', () => {
    const msg = configError({ TWILIO_ACCOUNT_SID: SID }).message;
    expect(msg).toContain('TWILIO_AUTH_TOKEN');
    expect(msg).toContain('TWILIO_FROM_NUMBER');
  });

  it('with only the auth token and number set, names TWILIO_ACCOUNT_SID', () => {
    const msg = configError({ TWILIO_AUTH_TOKEN: TWILIO.TWILIO_AUTH_TOKEN, TWILIO_FROM_NUMBER: TWILIO.TWILIO_FROM_NUMBER }).message;
    expect(msg).toContain('TWILIO_ACCOUNT_SID');
  });

  it('with all three set, configures Twilio', () => {
    expect(parseConfig(TWILIO).twilio).toMatchObject({
      accountSid: SID, authToken: TWILIO.TWILIO_AUTH_TOKEN, fromNumber: '+15550100000', apiBaseUrl: 'https://api.twilio.com',
    });
  });

  it('refuses a sender that is not E.164, naming TWILIO_FROM_NUMBER', () => {
    expect(configError({ ...TWILIO, TWILIO_FROM_NUMBER: '555-0100' }).message).toContain('TWILIO_FROM_NUMBER');
  });

  it('counts empty strings as unset: no Twilio, no error', () => {
    const c = parseConfig({ TWILIO_ACCOUNT_SID: '', TWILIO_AUTH_TOKEN: '', TWILIO_FROM_NUMBER: '' });
    expect(c.twilio).toBeUndefined();
    expect(configError({ ...TWILIO, TWILIO_FROM_NUMBER: '' }).message).toContain('TWILIO_FROM_NUMBER');
  });
});

describe('parseConfig: empty strings count as unset', () => {
  it('for DATABASE_URL, ADMIN_TOKEN and PUBLIC_BASE_URL', () => {
    const c = parseConfig({ DATABASE_URL: '', ADMIN_TOKEN: '', PUBLIC_BASE_URL: '' });
    expect(c.databaseUrl).toBeUndefined();
    expect(c.adminToken).toBeUndefined();
    expect(c.publicBaseUrl).toBe('http://localhost:3000');
  });
});

describe('npm start with a bad environment', () => {
  it('exits 1 and says which variable is wrong', () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'mayday-config-'));
    try {
      const r = spawnSync('npx', ['tsx', 'src/entry/node.ts'], {
        cwd: fileURLToPath(new URL('..', import.meta.url)),
        env: {
          ...process.env,
          PORT: 'abc',
          // Should the bad PORT slip through, fail fast rather than start an embedded database.
          DATABASE_URL: 'postgres://127.0.0.1:1/none',
          DATA_DIR: dataDir,
          LOG_LEVEL: 'silent',
        },
        encoding: 'utf8',
        timeout: 60_000,
      });
      expect(r.error, String(r.error)).toBeUndefined();
      expect(r.status, r.stderr).toBe(1);
      expect(r.stderr).toContain('PORT');
      expect(r.stderr).not.toMatch(/failed to start/);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  }, 90_000);
});

// ─── KNOWN SRC BUGS (uncommitted until fixed; see the report) ────────────────────────────────
describe('KNOWN SRC BUG: empty strings count as unset for every variable', () => {
  // Only the variables wrapped in optional() treat '' as unset. PORT='' is coerced to 0 (the
  // server would listen on a random port, and PUBLIC_BASE_URL becomes http://localhost:0);
  // LOG_LEVEL='', DATA_DIR='' and TWILIO_API_BASE_URL='' refuse to start instead of defaulting.
  it('PORT= is the default 3000, not 0', () => {
    const c = parseConfig({ PORT: '' });
    expect(c.port).toBe(3000);
    expect(c.publicBaseUrl).toBe('http://localhost:3000');
  });

  it('LOG_LEVEL=, DATA_DIR= and TWILIO_API_BASE_URL= take their defaults', () => {
    const c = parseConfig({ LOG_LEVEL: '', DATA_DIR: '', ...TWILIO, TWILIO_API_BASE_URL: '' });
    expect(c.logLevel).toBe('info');
    expect(c.dataDir).toBe('./.data');
    expect(c.twilio?.apiBaseUrl).toBe('https://api.twilio.com');
  });
});
