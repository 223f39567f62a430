import { expect } from 'vitest';
import type { Res } from './app';

/**
 * The contract's one error body: `{"error": {code, message, requestId}}` (plus optional
 * `details`), nothing else, and its requestId is the X-Request-Id the response carries.
 */
export function expectError(res: Res, status: number, code?: string) {
  const ctx = JSON.stringify(res.body);
  expect(res.status, ctx).toBe(status);
  expect(res.headers.get('content-type') ?? '', ctx).toMatch(/^application\/json/);
  expect(Object.keys(res.body ?? {}), ctx).toEqual(['error']);
  const e = res.body.error;
  expect(Object.keys(e).filter((k) => k !== 'details').sort(), ctx).toEqual(['code', 'message', 'requestId']);
  expect(e.code, ctx).toEqual(expect.any(String));
  if (code) expect(e.code, ctx).toBe(code);
  expect(e.message, ctx).toEqual(expect.any(String));
  expect(e.message.length, ctx).toBeGreaterThan(0);
  expect(e.requestId, ctx).toEqual(expect.any(String));
  expect(e.requestId.length, ctx).toBeGreaterThan(0);
  expect(e.requestId, ctx).toBe(res.headers.get('x-request-id'));
  return e as { code: string; message: string; requestId: string; details?: unknown };
}

/** An ISO instant `minutes` after `base`. */
export const plusMinutes = (base: string, minutes: number) => new Date(Date.parse(base) + minutes * 60_000).toISOString();
