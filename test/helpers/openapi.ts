import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';

/** ajv-formats is CommonJS: its default export arrives wrapped once more under some loaders. */
const addFormats = ((addFormatsModule as unknown as { default?: typeof addFormatsModule }).default ?? addFormatsModule) as typeof addFormatsModule;

export interface OpenApiDoc {
  paths: Record<string, Record<string, any>>;
  components: { schemas: Record<string, any>; securitySchemes?: Record<string, any> };
  [k: string]: any;
}

const pointer = (...parts: string[]) => parts.map((p) => p.replace(/~/g, '~0').replace(/\//g, '~1')).join('/');

/**
 * Checks answers against the response the document declares: the status must be listed for the
 * operation, the content type must be one listed for that status, and the body must match its
 * schema (OpenAPI 3.1 schemas are JSON Schema 2020-12; `#/components/...` refs resolve in the
 * document itself). NDJSON is checked line by line against the schema of one line.
 */
export function answerChecker(doc: OpenApiDoc) {
  const ajv = new Ajv2020({ strict: false, allErrors: true, logger: false });
  addFormats(ajv);
  ajv.addSchema(doc as object, 'openapi.json');
  const compiled = new Map<string, ValidateFunction>();
  const validatorAt = (ref: string) => {
    let v = compiled.get(ref);
    if (!v) compiled.set(ref, (v = ajv.compile({ $ref: ref })));
    return v;
  };

  /** Why the answer does not match the document, or null when it does. */
  return function check(method: string, path: string, status: number, contentType: string | null, text: string): string | null {
    const op = doc.paths[path]?.[method.toLowerCase()];
    if (!op) return `${method} ${path} is not in the document`;
    const code = String(status);
    const key = [code, `${code[0]}XX`, 'default'].find((k) => op.responses?.[k]);
    if (!key) return `status ${status} is not documented for ${method} ${path} (documented: ${Object.keys(op.responses ?? {}).join(', ')})`;
    const response = op.responses[key];
    if (!response.content) return text === '' ? null : `${status} has no documented body, but one came`;
    const type = (contentType ?? '').split(';')[0].trim().toLowerCase();
    const media = response.content[type];
    if (!media) return `content type "${type}" is not documented for ${status} (documented: ${Object.keys(response.content).join(', ')})`;
    if (!media.schema) return null;
    const validate = validatorAt(`openapi.json#/${pointer('paths', path, method.toLowerCase(), 'responses', key, 'content', type, 'schema')}`);
    const values: unknown[] = [];
    try {
      if (type === 'application/json' || type.endsWith('+json')) values.push(JSON.parse(text));
      else if (type === 'application/x-ndjson') values.push(...text.split('\n').filter(Boolean).map((l) => JSON.parse(l)));
      else values.push(text);
    } catch {
      return `${status} ${type} body does not parse: ${text.slice(0, 200)}`;
    }
    for (const v of values) {
      if (!validate(v)) return `${status} ${type} body does not match the documented schema: ${ajv.errorsText(validate.errors)}`;
    }
    return null;
  };
}
