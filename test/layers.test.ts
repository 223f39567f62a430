/**
 * The layers hold: read every import under src/ and check the rules of docs/architecture.md
 * ("Layers"). Hand-written rather than dependency-cruiser or madge: dependency-cruiser 18 refuses
 * to run on Node 20, and madge 8 needs the JavaScript compiler API that TypeScript 7 no longer
 * has. Imports are read as text, type-only ones included: a circle of types is still a circle
 * for the reader.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(__dirname, '..');
const SRC = join(ROOT, 'src');

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    if (statSync(p).isDirectory()) return files(p);
    return /\.tsx?$/.test(f) && !f.endsWith('.d.ts') ? [p] : [];
  });
}

const IMPORT = /(?:^|\n)\s*(?:import|export)\b[^'"`;]*?from\s*['"]([^'"]+)['"]|\bimport\(\s*['"]([^'"]+)['"]\s*\)/g;

/** The src/ files a file imports (relative imports only; packages are not layers). */
function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const out: string[] = [];
  for (const m of text.matchAll(IMPORT)) {
    const spec = m[1] ?? m[2];
    if (!spec.startsWith('.')) continue;
    const base = resolve(dirname(file), spec);
    const hit = [base, `${base}.ts`, `${base}.tsx`, join(base, 'index.ts')].find((p) => {
      try {
        return statSync(p).isFile();
      } catch {
        return false;
      }
    });
    if (hit) out.push(hit);
  }
  return out;
}

const rel = (p: string) => relative(ROOT, p).split('\\').join('/');
const graph = new Map(files(SRC).map((f) => [rel(f), importsOf(f).map(rel)]));

/** Every strongly connected set of more than one file (or a file importing itself): Tarjan's algorithm. */
function circles(g: Map<string, string[]>): string[][] {
  let index = 0;
  const idx = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const on = new Set<string>();
  const found: string[][] = [];
  const visit = (v: string) => {
    idx.set(v, index);
    low.set(v, index++);
    stack.push(v);
    on.add(v);
    for (const w of g.get(v) ?? []) {
      if (!idx.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (on.has(w)) low.set(v, Math.min(low.get(v)!, idx.get(w)!));
    }
    if (low.get(v) === idx.get(v)) {
      const scc: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        on.delete(w);
        scc.push(w);
      } while (w !== v);
      if (scc.length > 1 || (g.get(v) ?? []).includes(v)) found.push(scc.sort());
    }
  };
  for (const v of g.keys()) if (!idx.has(v)) visit(v);
  return found;
}

/** Folders of src/ that are not domain capabilities: runtime entries, HTTP, the console, the database. */
const NOT_DOMAIN = new Set(['entry', 'http', 'console', 'db', 'adapters', 'config']);
const folderOf = (f: string) => (f.split('/').length > 2 ? f.split('/')[1] : undefined);
const isDomain = (f: string) => folderOf(f) !== undefined && !NOT_DOMAIN.has(folderOf(f)!);

/** [importer, imported] pairs that break `rule`. */
const breaking = (rule: (from: string, to: string) => boolean) =>
  [...graph].flatMap(([from, tos]) => tos.filter((to) => rule(from, to)).map((to) => `${from} -> ${to}`));

describe('the layers of src/', () => {
  it('reads the import graph (a sanity check on the reader itself)', () => {
    expect(graph.get('src/app.ts')).toContain('src/http/middleware.ts');
    expect(graph.get('src/escalation/engine.ts')).toContain('src/escalation/store.ts');
  });

  it('has no import circles', () => {
    expect(circles(graph)).toEqual([]);
  });

  it('keeps src/app.ts, the other top-level files and the domains free of the runtime entries', () => {
    const topLevel = (f: string) => f.split('/').length === 2;
    expect(breaking((from, to) => (topLevel(from) || isDomain(from)) && to.startsWith('src/entry/'))).toEqual([]);
  });

  it('keeps HTTP out of the domains (errors live in src/errors.ts)', () => {
    expect(breaking((from, to) => isDomain(from) && to.startsWith('src/http/'))).toEqual([]);
  });

  it('reaches the Twilio adapter only from the runtime entries, through the port paging owns', () => {
    expect(breaking((from, to) => to.startsWith('src/adapters/twilio/') && !from.startsWith('src/entry/') && !from.startsWith('src/adapters/'))).toEqual([]);
    // Nor the twilio library itself, from anywhere but the adapter.
    const TWILIO = /(?:from\s*|import\(\s*)['"]twilio(?:\/[^'"]*)?['"]/;
    const direct = [...graph.keys()].filter((f) => !f.startsWith('src/adapters/twilio/') && TWILIO.test(readFileSync(join(ROOT, f), 'utf8')));
    expect(direct).toEqual([]);
  });

  it('holds SQL only in store.ts files and src/db/', () => {
    // A postgres.js tagged template (sql`…`, tx`…`, deps.sql<Row[]>`…`), any template that starts
    // with a statement (whatever the client is called), or a client's own statements:
    // unsafe(), notify(), reserve(), file(), and begin() or listen() on a database client.
    const SQL = new RegExp(
      [
        /(?:^|[^`\w])(?:sql|tx)(?:<[^`]*?>)?\s*`/.source,
        /`\s*(?:SELECT|INSERT|UPDATE|DELETE|WITH|CALL|CREATE|ALTER|DROP|TRUNCATE|LISTEN|NOTIFY)\s/.source,
        /\.(?:unsafe|notify|reserve|file)\(/.source,
        /\b\w*(?:sql|Sql|tx|db|reserved)\.(?:begin|listen)\(/.source,
      ].join('|'),
    );
    const outside = [...graph.keys()].filter((f) => !/\/store\.tsx?$/.test(f) && !f.startsWith('src/db/') && SQL.test(readFileSync(join(ROOT, f), 'utf8')));
    expect(outside).toEqual([]);
  });
});
