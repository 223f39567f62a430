import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { APP_FILES, type AppAssetReader } from '../driver-app/serve';

/** Where the driver app's static files are (the same folder wrangler.toml's [assets] serves). */
export const APP_PUBLIC_DIR = fileURLToPath(new URL('../driver-app/public/', import.meta.url));

/** The reader, and how many files it holds (a fixed number: tests check it never grows). */
export type NodeAppAssets = AppAssetReader & { held(): number };

/**
 * The driver app's files on Node: the fixed list the app is made of (APP_FILES), read from disk
 * once, when the app is wired, and kept in memory (a few tens of kilobytes). Any other name is
 * neither read nor remembered, so requests for made-up names cannot grow the process's memory.
 */
export function nodeAppAssets(dir = APP_PUBLIC_DIR): NodeAppAssets {
  const files = new Map<string, Uint8Array>();
  for (const path of APP_FILES) {
    try {
      const b = readFileSync(join(dir, path));
      files.set(path, new Uint8Array(b.buffer, b.byteOffset, b.byteLength));
    } catch {
      // Missing from this install: answered 404, as any unknown name.
    }
  }
  const read = (path: string) => Promise.resolve(files.get(path));
  return Object.assign(read, { held: () => files.size });
}
