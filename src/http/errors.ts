import type { Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import { z } from 'zod';
import { sqlState } from '../db/client';
import type { Logger } from '../log';
import { AppError, ERROR_STATUS, type ErrorCode } from '../errors';

/** The one error body, also used by the OpenAPI document. */
export const ErrorBody = z
  .object({
    error: z.object({
      code: z.string().meta({ example: 'validation_failed' }),
      message: z.string(),
      requestId: z.string(),
      details: z.unknown().optional(),
    }),
  })
  .meta({ id: 'Error' });

export function errorResponse(c: Context, err: AppError) {
  const requestId = (c.get('requestId' as never) as string | undefined) ?? '';
  const body: z.infer<typeof ErrorBody> = { error: { code: err.code, message: err.message, requestId } };
  if (err.details !== undefined) body.error.details = err.details;
  return c.json(body, err.status);
}

/** zod issues as a client can use them: where, and what is wrong. */
export function zodDetails(error: z.ZodError) {
  return error.issues.map((i) => ({ path: i.path.map(String).join('.'), message: i.message }));
}

export function validationError(error: z.ZodError, where: string) {
  const d = zodDetails(error);
  const first = d[0];
  return new AppError('validation_failed', `invalid ${where}${first ? `: ${first.path || '(root)'} ${first.message}` : ''}`, d);
}

/** Map anything thrown by a handler to the one body. Never a stack trace in the answer. */
export function toAppError(err: unknown, log?: Logger): AppError {
  if (err instanceof AppError) return err;
  if (err instanceof z.ZodError) return validationError(err, 'input');
  if (err instanceof HTTPException) {
    if (err.status === 413) return new AppError('payload_too_large', 'request body too large');
    if (err.status === 400 && /json/i.test(err.message)) return new AppError('malformed_json', 'request body is not valid JSON');
    const code = (Object.keys(ERROR_STATUS) as ErrorCode[]).find((k) => ERROR_STATUS[k] === err.status) ?? 'bad_request';
    return new AppError(code, err.message || code);
  }
  switch (sqlState(err)) {
    case '23505':
      return new AppError('conflict', 'already exists');
    case '23503':
      return new AppError('validation_failed', 'refers to something that does not exist');
    case '23514':
    case '22P02':
    case '22021': // a NUL or invalid byte in text
    case '22P05': // ... or in jsonb
    case '22003':
    case '22007':
    case '22008':
    case '22009': // a time zone displacement out of range: an instant past 9999-12-31 UTC
      return new AppError('validation_failed', 'a value is out of range or malformed');
    case '40001':
    case '40P01':
    case '57P01':
    case '57P03':
    case '08006':
    case '08001':
      return new AppError('unavailable', 'the database is busy or unreachable; retry');
  }
  const e = err as { code?: string; message?: string };
  if (e && typeof e.code === 'string' && /^(ECONNREFUSED|ECONNRESET|EPIPE|ETIMEDOUT|EHOSTUNREACH|ENETUNREACH|EAI_AGAIN|CONNECT_TIMEOUT|CONNECTION_)/.test(e.code)) {
    return new AppError('unavailable', 'the database is unreachable; retry');
  }
  log?.error({ err }, 'unhandled error');
  return new AppError('internal', 'internal error');
}
