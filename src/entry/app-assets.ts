import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { join, resolve, sep } from 'node:path';

/** Where the driver app's static files are (the same folder wrangler.toml's [assets] serves). */
export const APP_PUBLIC_DIR = fileURLToPath(new URL('../driver-app/public/', import.meta.url));

/**
 * The driver app's files on Node, read from disk once each and kept in memory (they are a few
 * tens of kilobytes). Names outside the folder are refused whatever the caller checked.
 */
export function nodeAppAssets(dir = APP_PUBLIC_DIR): (path: string) => Promise<Uint8Array | undefined> {
  const root = resolve(dir);
  const cache = new Map<string, Promise<Uint8Array | undefined>>();
  return (path) => {
    const full = resolve(join(root, path));
    if (!full.startsWith(root + sep)) return Promise.resolve(undefined);
    let hit = cache.get(full);
    if (!hit) {
      hit = readFile(full).then(
        (b) => new Uint8Array(b.buffer, b.byteOffset, b.byteLength),
        () => undefined,
      );
      cache.set(full, hit);
    }
    return hit;
  };
}
