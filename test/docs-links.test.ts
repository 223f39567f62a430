/**
 * The documentation's links hold: every relative link in README.md and docs/*.md names a file
 * or folder inside the repository, and a #anchor into a Markdown file names one of its headings
 * (as GitHub makes them). Links in code blocks and inline code are not links. No database.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const documents = ['README.md', ...readdirSync(join(root, 'docs')).filter((f) => f.endsWith('.md')).sort().map((f) => `docs/${f}`)];

/** The Markdown with fenced code blocks blanked out (line numbers kept). */
function withoutFences(md: string): string[] {
  let fence: string | undefined;
  return md.split('\n').map((line) => {
    const open = /^\s{0,3}(`{3,}|~{3,})/.exec(line);
    if (fence) {
      if (open && open[1][0] === fence[0] && open[1].length >= fence.length) fence = undefined;
      return '';
    }
    if (open) {
      fence = open[1];
      return '';
    }
    return line;
  });
}

/** A line without its inline code spans. */
const withoutCode = (line: string) => line.replace(/(`+)[\s\S]*?\1/g, '');

/** Link targets of a document: inline links and images, and reference definitions. */
function linksOf(md: string): { line: number; target: string }[] {
  const found: { line: number; target: string }[] = [];
  withoutFences(md).forEach((raw, i) => {
    const line = withoutCode(raw);
    for (const m of line.matchAll(/\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)) found.push({ line: i + 1, target: m[1] });
    const def = /^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+"[^"]*")?\s*$/.exec(line);
    if (def) found.push({ line: i + 1, target: def[1] });
  });
  return found;
}

/** GitHub's anchor for a heading: its text, lower case, punctuation dropped, spaces as hyphens. */
function slug(heading: string): string {
  const text = heading
    .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1')
    .replace(/`/g, '')
    .replace(/(\*\*|__|\*)/g, '');
  return text.trim().toLowerCase().replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, '').replace(/ /g, '-');
}

/** Every anchor a document offers: its headings' slugs, a repeated one with -1, -2… */
function anchorsOf(md: string): Set<string> {
  const seen = new Map<string, number>();
  const anchors = new Set<string>();
  for (const line of withoutFences(md)) {
    const h = /^\s{0,3}#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
    if (!h) continue;
    const base = slug(h[1]);
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    anchors.add(n === 0 ? base : `${base}-${n}`);
  }
  return anchors;
}

/** The links of `file` (a path from the repository's root) that lead nowhere, with why. */
function brokenLinks(file: string, md: string, read = (p: string) => readFileSync(p, 'utf8')): string[] {
  const broken: string[] = [];
  for (const { line, target } of linksOf(md)) {
    if (/^[a-z][a-z0-9+.-]*:/i.test(target) || target.startsWith('//')) continue; // http:, mailto:…
    const hash = target.indexOf('#');
    const path = decodeURIComponent(hash < 0 ? target : target.slice(0, hash));
    const anchor = hash < 0 ? undefined : decodeURIComponent(target.slice(hash + 1));
    const at = `${file}:${line}: ${target}`;
    const dest = path === '' ? join(root, file) : resolve(root, dirname(file), path);
    const inside = relative(root, dest);
    if (inside.startsWith(`..${sep}`) || inside === '..') {
      broken.push(`${at} (outside the repository)`);
      continue;
    }
    if (!existsSync(dest)) {
      broken.push(`${at} (no such file)`);
      continue;
    }
    if (anchor && dest.endsWith('.md') && !anchorsOf(path === '' ? md : read(dest)).has(anchor)) {
      broken.push(`${at} (no heading with that anchor)`);
    }
  }
  return broken;
}

describe('documentation links', () => {
  it.each(documents)('every relative link in %s resolves', (file) => {
    expect(brokenLinks(file, readFileSync(join(root, file), 'utf8'))).toEqual([]);
  });

  it('README.md stays a front door: under 300 lines', () => {
    expect(readFileSync(join(root, 'README.md'), 'utf8').split('\n').length).toBeLessThan(300);
  });

  it('the checker itself catches a missing file, a missing anchor and a link out of the repository', () => {
    const md = [
      '# Top',
      '## Some `code`: here',
      '[ok](#top) [ok](#some-code-here) [ok](README.md) [ok](https://example.com/nope)',
      '[bad](no-such-file.md) [bad](#nowhere) [bad](../../outside.md)',
      '```',
      '[not a link](ignored.md)',
      '```',
      'and `[not a link either](ignored.md)`',
    ].join('\n');
    expect(brokenLinks('README.md', md)).toEqual([
      'README.md:4: no-such-file.md (no such file)',
      'README.md:4: #nowhere (no heading with that anchor)',
      'README.md:4: ../../outside.md (outside the repository)',
    ]);
  });
});
