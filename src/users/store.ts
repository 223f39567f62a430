import type { Sql } from '../db/client';
import { hashPin } from '../auth/crypto';
import { mintToken } from '../auth/store';
import { AppError } from '../errors';
import type { Language } from '../i18n/catalogue';

export type Role = 'driver' | 'supervisor' | 'safety_lead' | 'auditor' | 'agent';

interface NewUser {
  role: Role;
  name: string;
  phone?: string;
  tier?: number;
  cancelPinHash?: string;
  duressPinHash?: string;
  /** What Mayday writes and speaks to them in; the database's default (English) when not given. */
  language?: Language;
}

/** Insert a user and its first token in one statement; answers the id and the token (shown once). */
async function insertUser(sql: Sql, u: NewUser, zoneIds: string[] = []): Promise<{ id: string; token: string }> {
  const { token, hash } = await mintToken(u.role);
  try {
    const [row] = await sql<{ id: string }[]>`
      WITH u AS (
        INSERT INTO users (role, name, phone, tier, cancel_pin_hash, duress_pin_hash, language)
        VALUES (${u.role}, ${u.name}, ${u.phone ?? null}, ${u.tier ?? null}, ${u.cancelPinHash ?? null}, ${u.duressPinHash ?? null},
                ${u.language ?? 'en'})
        RETURNING id
      ), t AS (
        INSERT INTO tokens (token_hash, user_id) SELECT ${hash}, id FROM u
      ), z AS (
        INSERT INTO responder_zones (responder_id, zone_id)
        SELECT u.id, zid FROM u, unnest(${zoneIds}::uuid[]) AS zid
      )
      SELECT id FROM u`;
    return { id: row.id, token };
  } catch (e) {
    const c = (e as { constraint_name?: string }).constraint_name;
    if (c === 'users_phone_key') throw new AppError('conflict', 'that phone number already belongs to someone');
    if (c === 'responder_zones_zone_id_fkey') throw new AppError('validation_failed', 'unknown zone in zoneIds');
    throw e;
  }
}

export async function createResponder(
  sql: Sql,
  r: { name: string; phone: string; role: 'supervisor' | 'safety_lead'; zoneIds: string[]; language?: Language },
) {
  const zoneIds = [...new Set(r.zoneIds)];
  const language = r.language ?? 'en';
  const { id, token } = await insertUser(sql, { role: r.role, name: r.name, phone: r.phone, language }, zoneIds);
  return { id, name: r.name, phone: r.phone, role: r.role, zoneIds, language, token };
}

export async function createDriver(sql: Sql, d: { name: string; phone: string; cancelPin: string; duressPin: string; language?: Language }) {
  const [cancelPinHash, duressPinHash] = await Promise.all([hashPin(d.cancelPin), hashPin(d.duressPin)]);
  const language = d.language ?? 'en';
  const { id, token } = await insertUser(sql, { role: 'driver', name: d.name, phone: d.phone, cancelPinHash, duressPinHash, language });
  return { id, name: d.name, phone: d.phone, language, token };
}

export async function createAuditor(sql: Sql, a: { name: string }) {
  const { id, token } = await insertUser(sql, { role: 'auditor', name: a.name });
  return { id, name: a.name, token };
}

export async function createAgent(sql: Sql, a: { name: string; tier: number }) {
  const { id, token } = await insertUser(sql, { role: 'agent', name: a.name, tier: a.tier });
  return { id, name: a.name, tier: a.tier, token };
}

/** Zones a supervisor answers for. */
export async function zonesOf(sql: Sql, responderId: string): Promise<string[]> {
  return (await sql<{ zone_id: string }[]>`SELECT zone_id FROM responder_zones WHERE responder_id = ${responderId}`).map((r) => r.zone_id);
}

/** The role of a user, or undefined when there is no such user. */
export async function roleOfUser(sql: Sql, id: string): Promise<Role | undefined> {
  const [u] = await sql<{ role: Role }[]>`SELECT role FROM users WHERE id = ${id}`;
  return u?.role;
}

/** A driver's stored cancel and duress PIN hashes. */
export async function pinHashesOf(sql: Sql, driverId: string): Promise<{ cancel_pin_hash: string; duress_pin_hash: string }> {
  const [u] = await sql<{ cancel_pin_hash: string; duress_pin_hash: string }[]>`
    SELECT cancel_pin_hash, duress_pin_hash FROM users WHERE id = ${driverId}`;
  return u;
}
