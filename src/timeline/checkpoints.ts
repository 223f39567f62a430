/**
 * Signed checkpoints of the timelines: the part of the chain's protection that does not live in
 * the database. At least once a minute the service reads every timeline head that moved since the
 * last checkpoint and signs, with an Ed25519 key the database never sees, a checkpoint naming them
 * (by digest) and the hash of the checkpoint before it. Whoever rewrites events and recomputes
 * their hashes can no longer make them agree with a signed checkpoint.
 *
 * Everything here is Web Crypto (crypto.subtle), so the same code signs on Node and on Workers,
 * and verifies in the offline verifier (scripts/verify-export.ts).
 */

export const CHECKPOINT_FORMAT = 'mayday-timeline-checkpoint/1';
export const GENESIS = '0'.repeat(64);

export interface CheckpointHead {
  incidentId: string;
  seq: number;
  hash: string;
}

/** A checkpoint as stored and exported; `heads` are present when it was read with them. */
export interface Checkpoint {
  seq: number;
  at: string;
  keyId: string;
  prevHash: string;
  headsCount: number;
  headsDigest: string;
  hash: string;
  signature: string;
  heads?: CheckpointHead[];
}

const enc = new TextEncoder();
const hex = (b: ArrayBuffer | Uint8Array) => [...new Uint8Array(b)].map((x) => x.toString(16).padStart(2, '0')).join('');
const b64 = (b: ArrayBuffer | Uint8Array) => btoa(String.fromCharCode(...new Uint8Array(b)));
const unb64 = (s: string) => Uint8Array.from(atob(s), (c) => c.charCodeAt(0));

export async function sha256hex(text: string): Promise<string> {
  return hex(await crypto.subtle.digest('SHA-256', enc.encode(text)));
}

/** Heads in the order they are digested: by incident id (as text, which is also PostgreSQL's uuid order). */
export const sortHeads = (heads: CheckpointHead[]) =>
  [...heads].sort((a, b) => (a.incidentId < b.incidentId ? -1 : a.incidentId > b.incidentId ? 1 : a.seq - b.seq));

/** sha256 hex of "incident_id seq hash" lines, in incident id order (checkpoint_heads_digest() in SQL). */
export const headsDigest = (heads: CheckpointHead[]) => sha256hex(sortHeads(heads).map((h) => `${h.incidentId} ${h.seq} ${h.hash}`).join('\n'));

/** The text that is signed, and whose sha256 is the checkpoint's hash (checkpoint_hash() in SQL). */
export const checkpointMessage = (c: Omit<Checkpoint, 'hash' | 'signature' | 'heads'>) =>
  [CHECKPOINT_FORMAT, c.seq, c.at, c.keyId, c.prevHash, c.headsCount, c.headsDigest].join('\n');

// ---------------------------------------------------------------------------------------------
// Keys

export interface PublicKey {
  keyId: string;
  /** The raw 32-byte Ed25519 public key, base64. */
  publicKey: string;
}

export interface SigningKey extends PublicKey {
  sign(message: string): Promise<string>;
}

/** A key's id: "ed25519:" and the first 32 hex digits of the sha256 of its raw public key. */
export async function keyIdOf(rawPublic: Uint8Array): Promise<string> {
  return `ed25519:${hex(await crypto.subtle.digest('SHA-256', rawPublic)).slice(0, 32)}`;
}

const PKCS8_SEED_PREFIX = Uint8Array.from([0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20]);

/** Bytes from base64 (standard or url-safe), hex, or a PEM block. */
function decodeKeyText(text: string): Uint8Array {
  const t = text.trim();
  if (/^[0-9a-fA-F]+$/.test(t) && t.length % 2 === 0 && (t.length === 64 || t.length === 96)) {
    return Uint8Array.from(t.match(/../g)!.map((x) => parseInt(x, 16)));
  }
  const body = t.replace(/-----(BEGIN|END)[^-]*-----/g, '').replace(/\s+/g, '').replace(/-/g, '+').replace(/_/g, '/');
  return unb64(body + '='.repeat((4 - (body.length % 4)) % 4));
}

/**
 * An Ed25519 private key from its text: PKCS#8 DER (48 bytes) or a 32-byte seed, as base64, hex
 * or PEM. Throws an Error that names what is wrong, never the key.
 */
export async function loadSigningKey(text: string): Promise<SigningKey> {
  let bytes: Uint8Array;
  try {
    bytes = decodeKeyText(text);
  } catch {
    throw new Error('not base64, hex or PEM');
  }
  if (bytes.length === 32) bytes = new Uint8Array([...PKCS8_SEED_PREFIX, ...bytes]);
  if (bytes.length !== 48) throw new Error(`must be an Ed25519 key: a 32-byte seed or 48-byte PKCS#8, not ${bytes.length} bytes`);
  let key: Awaited<ReturnType<typeof crypto.subtle.importKey>>;
  try {
    key = await crypto.subtle.importKey('pkcs8', bytes, { name: 'Ed25519' }, true, ['sign']);
  } catch {
    throw new Error('is not an Ed25519 private key');
  }
  const jwk = (await crypto.subtle.exportKey('jwk', key)) as { x?: string };
  const raw = decodeKeyText(jwk.x!);
  return {
    keyId: await keyIdOf(raw),
    publicKey: b64(raw),
    sign: async (message) => b64(await crypto.subtle.sign({ name: 'Ed25519' }, key, enc.encode(message))),
  };
}

/** A new key: the signing key and its text (base64 PKCS#8), for keeping. */
export async function generateSigningKey(): Promise<{ key: SigningKey; text: string }> {
  const pair = (await crypto.subtle.generateKey({ name: 'Ed25519' }, true, ['sign', 'verify'])) as { privateKey: Awaited<ReturnType<typeof crypto.subtle.importKey>> };
  const text = b64(await crypto.subtle.exportKey('pkcs8', pair.privateKey));
  return { key: await loadSigningKey(text), text };
}

/** A public key from its text (raw 32 bytes or SPKI DER, base64/hex/PEM). */
export async function loadPublicKey(text: string): Promise<PublicKey> {
  let raw = decodeKeyText(text);
  if (raw.length === 44) raw = raw.slice(12); // SPKI: a fixed 12-byte header, then the raw key
  if (raw.length !== 32) throw new Error('must be an Ed25519 public key (32 bytes raw, or SPKI)');
  return { keyId: await keyIdOf(raw), publicKey: b64(raw) };
}

export async function verifySignature(key: PublicKey, message: string, signature: string): Promise<boolean> {
  try {
    const k = await crypto.subtle.importKey('raw', unb64(key.publicKey), { name: 'Ed25519' }, false, ['verify']);
    return await crypto.subtle.verify({ name: 'Ed25519' }, k, unb64(signature), enc.encode(message));
  } catch {
    return false;
  }
}

/** The keys this instance signs with and trusts: the current one, and older public keys from the environment. */
export interface Keyring {
  current: SigningKey;
  /** Every key whose signatures verify here, the current one first. */
  trusted: PublicKey[];
  /** True when the current key was made up at start (no AUDIT_SIGNING_KEY and nowhere to keep one). */
  ephemeral: boolean;
}

export async function makeKeyring(o: { signingKey?: string; previousPublicKeys?: string[] }): Promise<Keyring> {
  const current = o.signingKey ? await loadSigningKey(o.signingKey) : (await generateSigningKey()).key;
  const previous = await Promise.all((o.previousPublicKeys ?? []).map(loadPublicKey));
  const trusted = [current, ...previous.filter((k) => k.keyId !== current.keyId)].map((k) => ({ keyId: k.keyId, publicKey: k.publicKey }));
  return { current, trusted, ephemeral: !o.signingKey };
}

// ---------------------------------------------------------------------------------------------
// Verification (the same code in the service and in the offline verifier)

/**
 * Checks a run of consecutive checkpoints: each one's digest and count against its heads (when
 * given), its hash against its fields, its link to the one before, and the signatures of the first
 * and the last (or of all, with `everySignature`) with the trusted keys. The last one's signature
 * vouches for the whole run through the links. Answers the problems found, in words.
 */
export async function verifyCheckpointRun(run: Checkpoint[], trusted: PublicKey[], o: { everySignature?: boolean } = {}): Promise<string[]> {
  const problems: string[] = [];
  const keys = new Map(trusted.map((k) => [k.keyId, k]));
  for (const [i, c] of run.entries()) {
    if (c.heads) {
      if (c.heads.length !== c.headsCount) problems.push(`checkpoint ${c.seq}: ${c.heads.length} heads, but it says ${c.headsCount}`);
      if ((await headsDigest(c.heads)) !== c.headsDigest) problems.push(`checkpoint ${c.seq}: its heads do not match their digest`);
    }
    const message = checkpointMessage(c);
    if ((await sha256hex(message)) !== c.hash) problems.push(`checkpoint ${c.seq}: its hash does not match its fields`);
    const prior = run[i - 1];
    if (prior && (prior.seq !== c.seq - 1 || prior.hash !== c.prevHash)) problems.push(`checkpoint ${c.seq}: does not follow checkpoint ${prior.seq}`);
    if (!prior && c.seq === 1 && c.prevHash !== GENESIS) problems.push('checkpoint 1: does not start from the genesis hash');
    if (o.everySignature || i === 0 || i === run.length - 1) {
      const key = keys.get(c.keyId);
      if (!key) problems.push(`checkpoint ${c.seq}: signed with key ${c.keyId}, which is not trusted here`);
      else if (!(await verifySignature(key, message, c.signature))) problems.push(`checkpoint ${c.seq}: the signature does not verify`);
    }
  }
  return problems;
}
