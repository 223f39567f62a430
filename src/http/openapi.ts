import { OpenAPIHono, z } from '@hono/zod-openapi';
import type { AppEnv } from './context';
import { ErrorBody, validationError } from './errors';

/** A router whose zod validation failures become the one error body (422, or 400 for a bad query type). */
export function router() {
  return new OpenAPIHono<AppEnv>({
    defaultHook: (result) => {
      if (!result.success) throw validationError(result.error, result.target === 'json' ? 'body' : result.target);
    },
  });
}

export const json = <T extends z.ZodType>(schema: T, description: string) => ({
  content: { 'application/json': { schema } },
  description,
});

export const body = <T extends z.ZodType>(schema: T) => ({
  body: { content: { 'application/json': { schema } }, required: true },
});

const err = (description: string) => json(ErrorBody, description);

/** The error answers every authenticated route can give. */
export const errors = {
  400: err('Malformed request (bad JSON)'),
  401: err('No token, or an unknown or revoked one'),
  403: err('The token’s role may not do this'),
  413: err('Body too large'),
  415: err('Body is not application/json'),
  422: err('Well-formed but invalid'),
} as const;

export const notFoundError = { 404: err('Not found, or not visible to this caller') } as const;
export const conflictError = (what: string) => ({ 409: err(what) }) as const;

export const bearer = [{ bearer: [] as string[] }];

export const IdParam = z.object({ id: z.uuid().openapi({ param: { name: 'id', in: 'path' } }) });
