/**
 * npm run verify:export -- <export.ndjson> --keys <keys.json> [--key <base64 public key>]...
 *
 * Checks an ndjson audit export offline, with only the public keys you trust: the JSON that
 * GET /v1/audit/keys answered (kept apart from the exports), or keys given one by one. Every
 * hash chain, every incident row against its events, every checkpoint and its signature.
 * Exits 0 when everything holds, 1 on any mismatch, 2 when it cannot run (no file, no keys).
 */
import { readFileSync } from 'node:fs';
import { verifyExport } from '../src/audit/offline-verify';
import { loadPublicKey, type PublicKey } from '../src/timeline/checkpoints';

async function main(argv: string[]): Promise<number> {
  const files: string[] = [];
  const keyTexts: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--keys') {
      const doc = JSON.parse(readFileSync(argv[++i], 'utf8')) as { keys?: { publicKey: string }[] };
      keyTexts.push(...(doc.keys ?? []).map((k) => k.publicKey));
    } else if (argv[i] === '--key') keyTexts.push(argv[++i]);
    else files.push(argv[i]);
  }
  if (files.length !== 1 || keyTexts.length === 0) {
    console.error('usage: npm run verify:export -- <export.ndjson> --keys <keys.json from GET /v1/audit/keys> [--key <base64>]...');
    return 2;
  }
  const keys: PublicKey[] = await Promise.all(keyTexts.map(loadPublicKey));
  const r = await verifyExport(readFileSync(files[0], 'utf8'), keys);
  const uncovered = r.events - r.coveredEvents;
  console.log(`${r.incidents} incidents, ${r.events} events, ${r.checkpoints} checkpoints (newest ${r.newestCheckpointAt ?? 'none'}), with keys ${keys.map((k) => k.keyId).join(', ')}`);
  if (uncovered > 0) console.log(`note: ${uncovered} events come after the last checkpoint that covered their timeline: only their hash chain vouches for them`);
  if (r.ok) {
    console.log('VALID');
    return 0;
  }
  for (const p of r.problems) console.log(`BROKEN: ${p}`);
  return 1;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e) => {
    console.error(`verify-export: ${(e as Error).message}`);
    process.exit(2);
  },
);
