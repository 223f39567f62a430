/**
 * The errors domain code throws: a code from a fixed list, each with the HTTP status it answers
 * with (src/http/errors.ts turns them into the one error body). No HTTP library here.
 */
/** Every error code Mayday answers with, and its HTTP status. */
export const ERROR_STATUS = {
  bad_request: 400,
  malformed_json: 400,
  unauthorized: 401,
  forbidden: 403,
  bad_signature: 403,
  not_found: 404,
  conflict: 409,
  payload_too_large: 413,
  unsupported_media_type: 415,
  validation_failed: 422,
  rate_limited: 429,
  internal: 500,
  unavailable: 503,
  // Cases of the generic codes above that a client acts on differently (the driver app's cancel):
  // listed after them, so a bare HTTP status still maps to the generic code.
  wrong_pin: 403,
  cancel_locked: 403,
  already_cancelled: 409,
  already_resolved: 409,
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;

export class AppError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
  }
  get status(): (typeof ERROR_STATUS)[ErrorCode] {
    return ERROR_STATUS[this.code];
  }
}

export const notFound = (what = 'resource') => new AppError('not_found', `${what} not found`);
export const conflict = (message: string) => new AppError('conflict', message);
export const forbidden = (message = 'not allowed for this role') => new AppError('forbidden', message);
