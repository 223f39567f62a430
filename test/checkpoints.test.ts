/**
 * Signed checkpoints (issue 18, security 2): anyone who can write to the database can rewrite a
 * timeline and recompute every hash; once a signed checkpoint covered it, verify and the offline
 * verifier (with only the public key) say so.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { verifyExport } from '../src/audit/offline-verify';
import { ConfigError, parseConfig } from '../src/config/env';
import { auditKeysFor } from '../src/entry/audit-key';
import { generateSigningKey, loadPublicKey, loadSigningKey, makeKeyring, sha256hex, type Keyring } from '../src/timeline/checkpoints';
import { checkpointInFlight, checkpointNow } from '../src/timeline/verification';
import { testApp, type TestApp } from './helpers/app';
import { square, world, type Person } from './helpers/world';

let t: TestApp;
let w: ReturnType<typeof world>;
let driver: Person;
let sup: Person;
let other: Person;
let auditor: { id: string; token: string };
let keyring: Keyring;
let keysDoc: { keys: { keyId: string; publicKey: string; current: boolean; algorithm: string }[] };
const dir = mkdtempSync(join(tmpdir(), 'mayday-checkpoints-'));

const q = (path: string, params: Record<string, string>) => `${path}?${new URLSearchParams(params)}`;
const verify = async (id: string) => (await t.get(`/v1/incidents/${id}/timeline/verify`, auditor.token)).body;
const rangeOf = async (id: string) => {
  const [{ opened_at }] = await t.sql`SELECT opened_at FROM incidents WHERE id = ${id}`;
  return { from: new Date(opened_at.getTime() - 1).toISOString(), to: new Date(opened_at.getTime() + 1).toISOString() };
};
const exportOf = async (id: string) => (await t.get(q('/v1/audit/export', { ...(await rangeOf(id)), format: 'ndjson' }), auditor.token)).body as string;
const rangeVerify = async (id: string) => (await t.get(q('/v1/audit/verify', await rangeOf(id)), auditor.token)).body;
const offline = async (id: string) => verifyExport(await exportOf(id), await Promise.all(keysDoc.keys.map((k) => loadPublicKey(k.publicKey))));
let minute = Date.parse('2030-01-01T00:00:00Z');
/** A checkpoint now (each call a minute of its own, as the engine would take them). */
const checkpoint = async () => checkpointNow(t.sql, keyring, new Date((minute += 60_000)));

/** An incident with a note, a few fixes, acknowledged: a dozen events. */
async function incident(note: string) {
  const id = (await w.sos(driver, { note })).body.incident.id as string;
  for (const [lat, lng] of [[36.372, -94.202], [36.373, -94.203], [36.374, -94.204]]) await t.post(`/v1/incidents/${id}/locations`, { lat, lng, accuracyM: 8 }, driver.token);
  expect((await t.post(`/v1/incidents/${id}/ack`, undefined, sup.token)).status).toBe(200);
  await settle();
  return id;
}

/** Let the pager send what is queued and the simulator report every delivery, so timelines stop growing. */
async function settle() {
  await t.engine.tick();
  for (let i = 0; i < 300; i++) {
    const [{ n }] = await t.sql`SELECT count(*)::int AS n FROM pages WHERE status IN ('queued', 'sending', 'sent')`;
    if (n === 0) return;
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** What an attacker with the database does: triggers off, then every hash from `fromSeq` recomputed with timeline_hash() and the head moved. */
async function rewrite(id: string, change: (tx: any) => Promise<unknown>) {
  await t.sql.begin(async (tx) => {
    await tx`SET LOCAL session_replication_role = replica`;
    await change(tx);
    const evs = await tx<{ seq: number }[]>`SELECT seq FROM incident_events WHERE incident_id = ${id} ORDER BY seq`;
    let prev = '0'.repeat(64);
    for (const e of evs) {
      const [r] = await tx<{ hash: string }[]>`
        UPDATE incident_events SET prev_hash = ${prev}, hash = timeline_hash(${prev}, incident_id, seq, type, at, actor, data)
        WHERE incident_id = ${id} AND seq = ${e.seq} RETURNING hash`;
      prev = r.hash;
    }
    await tx`
      UPDATE timeline_heads SET seq = ${evs.length}, hash = ${prev},
             prev_hash = coalesce((SELECT prev_hash FROM incident_events WHERE incident_id = ${id} AND seq = ${evs.length}), ${'0'.repeat(64)})
      WHERE incident_id = ${id}`;
  });
}

beforeAll(async () => {
  t = await testApp();
  w = world(t);
  const zone = await w.zone('Checkpoints', square(36.37, -94.2));
  driver = await w.driver();
  sup = await w.responder('supervisor', [zone.id], 'Sue');
  other = await w.responder('supervisor', [zone.id], 'Otto');
  auditor = await w.auditor();
  keyring = (await t.deps.keyring)!;
  keysDoc = (await t.get('/v1/audit/keys', auditor.token)).body;
  writeFileSync(join(dir, 'keys.json'), JSON.stringify(keysDoc));
});

describe('the signing keys', () => {
  it('/v1/audit/keys shows the public key and its id (a hash of it), never the private key', async () => {
    const res = await t.get('/v1/audit/keys', auditor.token);
    expect(res.status).toBe(200);
    expect(res.body.keys).toHaveLength(1);
    const [k] = res.body.keys;
    expect(k).toEqual({ keyId: keyring.current.keyId, algorithm: 'Ed25519', publicKey: keyring.current.publicKey, current: true });
    expect(Buffer.from(k.publicKey, 'base64')).toHaveLength(32);
    expect(k.keyId).toBe(`ed25519:${(await sha256hexBytes(Buffer.from(k.publicKey, 'base64'))).slice(0, 32)}`);
    expect((await t.get('/v1/audit/keys', driver.token)).status).toBe(403);
    expect((await t.get('/v1/audit/keys', sup.token)).status).toBe(403);
  });
});

async function sha256hexBytes(b: Uint8Array) {
  return Buffer.from(await crypto.subtle.digest('SHA-256', b)).toString('hex');
}

describe('checkpoints', () => {
  it('the engine signs the heads that moved once a minute, whichever instance ticks first', async () => {
    const id = await incident('tick');
    await checkpointInFlight(t.sql); // one an earlier tick started may still be committing
    const before = (await t.sql`SELECT count(*)::int AS n FROM timeline_checkpoints`)[0].n;
    const at = new Date('2031-05-05T10:00:10Z');
    await t.engine.tick(at);
    await checkpointInFlight(t.sql); // signed in the background, never holding the tick
    await t.engine.tick(new Date('2031-05-05T10:00:50Z')); // the same minute: nothing more
    expect(checkpointInFlight(t.sql)).toBeUndefined();
    const rows = await t.sql`SELECT seq, minute, key_id FROM timeline_checkpoints ORDER BY seq`;
    expect(rows.length).toBe(before + 1);
    expect(rows[rows.length - 1].minute.toISOString()).toBe('2031-05-05T10:00:00.000Z');
    expect(rows[rows.length - 1].key_id).toBe(keyring.current.keyId);
    // The incident's head as it stood at that checkpoint is covered (the tick's own pages may add events after it).
    const covered = await t.sql`SELECT c.seq, c.hash, e.hash AS event_hash FROM timeline_checkpoint_heads c
      JOIN incident_events e ON e.incident_id = c.incident_id AND e.seq = c.seq
      WHERE c.incident_id = ${id}`;
    expect(covered.length).toBeGreaterThan(0);
    for (const c of covered) expect(c.hash).toBe(c.event_hash);
    // Every head that existed when the checkpoint was signed is covered by it or an earlier one.
    const [{ n }] = await t.sql`SELECT count(*)::int AS n FROM timeline_heads h WHERE NOT EXISTS (
      SELECT 1 FROM timeline_checkpoint_heads c JOIN incident_events e ON e.incident_id = c.incident_id AND e.seq = c.seq
      WHERE c.incident_id = h.incident_id AND c.checkpoint_seq <= ${rows[rows.length - 1].seq})`;
    expect(n).toBe(0);
    // Another minute with nothing new still signs (a heartbeat), covering nothing.
    await settle();
    await checkpointInFlight(t.sql);
    await checkpoint();
    expect((await checkpoint())!.headsCount).toBe(0);
  });

  it('a clean timeline verifies, in the service and offline, once covered', async () => {
    const id = await incident('all fine');
    await checkpoint();
    const v = await verify(id);
    expect(v).toMatchObject({ valid: true, chainValid: true, rowDisagreements: [], checkpoints: { valid: true } });
    expect(v.checkpointed.seq).toBe(v.eventCount);
    expect((await rangeVerify(id))).toMatchObject({ valid: true, broken: [], checkpoints: { valid: true } });
    const r = await offline(id);
    expect(r.problems).toEqual([]);
    expect(r).toMatchObject({ ok: true, incidents: 1, coveredEvents: v.eventCount });
  });

  it('the CSV and GeoJSON exports carry the checkpoints and the keys too', async () => {
    const id = await incident('exported in other formats');
    const c = await checkpoint();
    const range = await rangeOf(id);
    const csvText = (await t.get(q('/v1/audit/export', { ...range, format: 'csv' }), auditor.token)).body as string;
    const rows = csvText.trimEnd().split('\r\n');
    const cpRow = rows.find((r) => r.includes(',timeline.checkpoint,') && r.startsWith(`,,,,${c!.seq},`));
    expect(cpRow, csvText.slice(-500)).toBeDefined();
    expect(rows[rows.length - 1]).toContain(',audit.keys,');
    expect(rows[rows.length - 1]).toContain(keyring.current.publicKey.slice(0, 20));
    const geoRes = (await t.get(q('/v1/audit/export', { ...range, format: 'geojson' }), auditor.token)).body;
    const geo = typeof geoRes === 'string' ? JSON.parse(geoRes) : geoRes;
    expect(geo.type).toBe('FeatureCollection');
    expect(geo.features.length).toBeGreaterThan(0);
    expect(geo.checkpoints.map((x: { seq: number }) => x.seq)).toContain(c!.seq);
    expect(geo.keys).toEqual([{ keyId: keyring.current.keyId, algorithm: 'Ed25519', publicKey: keyring.current.publicKey }]);
  });

  it('an export carries the checkpoints that cover it, and the keys', async () => {
    const id = await incident('exported');
    const c = await checkpoint();
    const lines = (await exportOf(id)).trimEnd().split('\n').map((l) => JSON.parse(l));
    expect(lines[0].incident.id).toBe(id);
    expect(lines[0].checkpointed[lines[0].checkpointed.length - 1]).toEqual({ seq: lines[0].events.length, hash: lines[0].headHash, checkpointSeq: c!.seq });
    const cps = lines.filter((l) => l.checkpoint).map((l) => l.checkpoint);
    expect(cps.map((x) => x.seq)).toContain(c!.seq);
    expect(cps.find((x) => x.seq === c!.seq).heads).toContainEqual({ incidentId: id, seq: lines[0].events.length, hash: lines[0].headHash });
    expect(lines[lines.length - 1]).toEqual({ keys: [{ keyId: keyring.current.keyId, algorithm: 'Ed25519', publicKey: keyring.current.publicKey }] });
    // Without its checkpoints, or with one of them edited, the file no longer verifies.
    const trusted = [await loadPublicKey(keyring.current.publicKey)];
    const text = lines.map((l) => JSON.stringify(l)).join('\n');
    expect((await verifyExport(text, trusted)).ok).toBe(true);
    const stripped = lines.filter((l) => !l.checkpoint).map((l) => JSON.stringify(l)).join('\n');
    expect((await verifyExport(stripped, trusted)).problems.join('\n')).toMatch(/missing from the export/);
    const edited = lines.map((l) => JSON.stringify(l.checkpoint?.seq === c!.seq ? { checkpoint: { ...l.checkpoint, heads: l.checkpoint.heads.slice(1) } } : l)).join('\n');
    expect((await verifyExport(edited, trusted)).problems.join('\n')).toMatch(new RegExp(`checkpoint ${c!.seq}: `));
  });

  it('a rewritten note with every hash recomputed (and the head moved) is detected by verify and offline', async () => {
    const id = await incident('he had a knife');
    await checkpoint();
    await rewrite(id, (tx) => tx`UPDATE incident_events SET data = jsonb_set(data, '{note}', '"nothing happened"') WHERE incident_id = ${id} AND seq = 1`);
    await t.sql`UPDATE incidents SET note = 'nothing happened' WHERE id = ${id}`;
    const v = await verify(id);
    expect(v.chainValid).toBe(true); // the chain alone is fooled
    expect(v.rowDisagreements).toEqual([]);
    expect(v.valid).toBe(false);
    expect(v.checkpointed.mismatched.length).toBeGreaterThan(0);
    const range = await rangeVerify(id);
    expect(range).toMatchObject({ valid: false, broken: [id] });
    expect(range.problems).toContainEqual(expect.objectContaining({ incidentId: id, problem: 'checkpoint' }));
    const r = await offline(id);
    expect(r.ok).toBe(false);
    expect(r.problems.join('\n')).toMatch(/rewritten/);
  });

  it('cutting off the last three events (head moved back) is detected by verify and offline', async () => {
    const id = await incident('truncate me');
    await checkpoint();
    const [{ n }] = await t.sql`SELECT count(*)::int AS n FROM incident_events WHERE incident_id = ${id}`;
    await rewrite(id, (tx) => tx`DELETE FROM incident_events WHERE incident_id = ${id} AND seq > ${n - 3}`);
    expect((await t.sql`SELECT seq FROM timeline_heads WHERE incident_id = ${id}`)[0].seq).toBe(n - 3);
    const v = await verify(id);
    expect(v).toMatchObject({ valid: false, chainValid: true, eventCount: n - 3 });
    expect(v.checkpointed.mismatched).toContainEqual(expect.objectContaining({ seq: n }));
    expect((await rangeVerify(id)).problems).toContainEqual({ incidentId: id, problem: 'checkpoint', seqs: [n] });
    const r = await offline(id);
    expect(r.ok).toBe(false);
    expect(r.problems.join('\n')).toMatch(/missing \(truncated\)/);
  });

  it('a changed acknowledged_by is detected: the row is checked against its events', async () => {
    const id = await incident('who took it');
    await checkpoint();
    await t.sql`UPDATE incidents SET acknowledged_by = ${other.id} WHERE id = ${id}`;
    const v = await verify(id);
    expect(v).toMatchObject({ valid: false, chainValid: true, rowDisagreements: ['acknowledged_by'] });
    expect((await rangeVerify(id)).problems).toContainEqual({ incidentId: id, problem: 'row', columns: ['acknowledged_by'] });
    const r = await offline(id);
    expect(r.ok).toBe(false);
    expect(r.problems.join('\n')).toMatch(/disagrees with its events on acknowledged_by/);
    // And rewriting the acknowledgement event to match, hashes recomputed, meets the checkpoint.
    await rewrite(id, (tx) => tx`UPDATE incident_events SET data = jsonb_set(data, '{by}', ${JSON.stringify(other.id)}::jsonb) WHERE incident_id = ${id} AND type = 'incident.acknowledged'`);
    await t.sql.begin(async (tx) => {
      await tx`SET LOCAL session_replication_role = replica`;
      await tx`UPDATE incident_events SET actor = ${`supervisor:${other.id}`} WHERE incident_id = ${id} AND type = 'incident.acknowledged'`;
    });
    const v2 = await verify(id);
    expect(v2.valid).toBe(false);
    expect(v2.checkpointed.mismatched.length).toBeGreaterThan(0);
    expect((await offline(id)).ok).toBe(false);
  });

  it('npm run verify:export exits 0 on a sound export and 1 on a rewritten one', async () => {
    const good = await incident('script good');
    await checkpoint();
    writeFileSync(join(dir, 'good.ndjson'), await exportOf(good));
    const run = (file: string) =>
      promisify(execFile)('npx', ['tsx', 'scripts/verify-export.ts', join(dir, file), '--keys', join(dir, 'keys.json')], { cwd: join(__dirname, '..') }).then(
        (r) => ({ code: 0, out: r.stdout }),
        (e) => ({ code: e.code as number, out: String(e.stdout) }),
      );
    const ok = await run('good.ndjson');
    expect(ok.out).toContain('VALID');
    expect(ok.code).toBe(0);
    await rewrite(good, (tx) => tx`UPDATE incident_events SET actor = 'system' WHERE incident_id = ${good} AND seq = 1`);
    writeFileSync(join(dir, 'bad.ndjson'), await exportOf(good));
    const bad = await run('bad.ndjson');
    expect(bad.code).toBe(1);
    expect(bad.out).toMatch(/BROKEN: .*rewritten/);
    // Another key than the one that signed: nothing verifies.
    writeFileSync(join(dir, 'other-keys.json'), JSON.stringify({ keys: [{ publicKey: Buffer.alloc(32, 7).toString('base64') }] }));
    const wrongKey = await promisify(execFile)('npx', ['tsx', 'scripts/verify-export.ts', join(dir, 'good.ndjson'), '--keys', join(dir, 'other-keys.json')], { cwd: join(__dirname, '..') }).catch((e) => e);
    expect(wrongKey.code).toBe(1);
  }, 60_000);

  it('a forged or edited checkpoint is caught: the chain of checkpoints and its signatures', async () => {
    const id = await incident('forge');
    const c = (await checkpoint())!;
    await t.sql.begin(async (tx) => {
      await tx`SET LOCAL session_replication_role = replica`;
      await tx`DELETE FROM timeline_checkpoint_heads WHERE incident_id = ${id}`;
    });
    const v = await verify(id);
    expect(v.valid).toBe(false);
    expect(v.checkpoints.problems.join('\n')).toMatch(new RegExp(`checkpoint ${c.seq}`));
  });
});

describe('timeline_heads', () => {
  it('is guarded like the events: it only moves forward by one event', async () => {
    const id = (await w.sos(driver)).body.incident.id;
    await expect(t.sql`UPDATE timeline_heads SET seq = 1, hash = ${'f'.repeat(64)} WHERE incident_id = ${id}`).rejects.toThrow(/only moves forward/);
    await expect(t.sql`INSERT INTO timeline_heads (incident_id, seq, prev_hash, hash) VALUES (gen_random_uuid(), 5, ${'a'.repeat(64)}, ${'b'.repeat(64)})`).rejects.toThrow(/starts at seq 1/);
    await expect(t.sql`DELETE FROM timeline_heads WHERE incident_id = ${id}`).rejects.toThrow(/append-only/);
    await expect(t.sql`UPDATE timeline_checkpoints SET signature = 'x'`).rejects.toThrow(/append-only/);
    await expect(t.sql`DELETE FROM timeline_checkpoint_heads`).rejects.toThrow(/append-only/);
    // The service's own appends still move it.
    expect((await t.post(`/v1/incidents/${id}/locations`, { lat: 36.371, lng: -94.201 }, driver.token)).status).toBe(202);
    expect((await verify(id)).chainValid).toBe(true);
  });
});

describe('the offline verifier', () => {
  it('writes data as jsonb does (keys by length, then bytes)', async () => {
    const { jsonbText } = await import('../src/audit/offline-verify');
    const [{ t: pg }] = await t.sql`SELECT ${'{"bb": 1, "a": [1, "x\\n", {"zz": null, "y": true}], "é": 0.5, "ab": "\\u0001"}'}::jsonb::text AS t`;
    expect(jsonbText(JSON.parse(pg))).toBe(pg);
    expect(await sha256hex('')).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
  });
});

describe('AUDIT_SIGNING_KEY', () => {
  it('takes a base64 PKCS#8 key or a 32-byte seed (hex or base64), and refuses anything else without printing it', async () => {
    const { key, text } = await generateSigningKey();
    const pkcs8 = Buffer.from(text, 'base64');
    const seed = pkcs8.subarray(16);
    for (const form of [text, seed.toString('hex'), seed.toString('base64')]) {
      expect(parseConfig({ AUDIT_SIGNING_KEY: form }).auditKeys.signingKey).toBe(form);
      expect((await loadSigningKey(form)).keyId).toBe(key.keyId);
    }
    const bad = 'c2VjcmV0LWJ1dC1ub3QtYS1rZXk=';
    let err: unknown;
    try {
      parseConfig({ AUDIT_SIGNING_KEY: bad });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect(String((err as Error).message)).toMatch(/AUDIT_SIGNING_KEY: must be an Ed25519 private key/);
    expect(String((err as Error).message)).not.toContain(bad);
    // Older public keys are trusted next to the current one, and listed.
    const old = await generateSigningKey();
    const ring = await makeKeyring({ signingKey: text, previousPublicKeys: [old.key.publicKey] });
    expect(ring.trusted.map((k) => k.keyId)).toEqual([key.keyId, old.key.keyId]);
    expect(ring.ephemeral).toBe(false);
  });

  it('on Node without it, is made once and kept in DATA_DIR (mode 0600): a restart signs with the same key', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'mayday-key-'));
    const config = parseConfig({ DATA_DIR: dataDir });
    const first = await auditKeysFor(config);
    expect(first.generated).toBe(true);
    expect(statSync(join(dataDir, 'audit-signing-key')).mode & 0o777).toBe(0o600);
    const again = await auditKeysFor(config);
    expect(again.generated).toBe(false);
    expect((await loadSigningKey(again.keys.signingKey!)).keyId).toBe((await loadSigningKey(first.keys.signingKey!)).keyId);
  });
});
