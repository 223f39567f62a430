import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Config } from '../config/env';
import { generateSigningKey } from '../timeline/checkpoints';

/**
 * On Node without AUDIT_SIGNING_KEY: the checkpoint signing key made on the first start and kept in
 * DATA_DIR/audit-signing-key (mode 0600), like the admin token, so that restarts keep signing with
 * the same key. Answers the keys for compose() and whether this start made the key.
 */
export async function auditKeysFor(config: Config): Promise<{ keys: Config['auditKeys']; file?: string; generated: boolean }> {
  if (config.auditKeys.signingKey) return { keys: config.auditKeys, generated: false };
  const file = join(resolve(config.dataDir), 'audit-signing-key');
  if (existsSync(file)) return { keys: { ...config.auditKeys, signingKey: readFileSync(file, 'utf8').trim() }, file, generated: false };
  mkdirSync(resolve(config.dataDir), { recursive: true, mode: 0o700 });
  const { text } = await generateSigningKey();
  writeFileSync(file, text + '\n', { mode: 0o600 });
  return { keys: { ...config.auditKeys, signingKey: text }, file, generated: true };
}
