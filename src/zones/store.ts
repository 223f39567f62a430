import type { Sql } from '../db/client';
import { AppError, notFound } from '../errors';
import { DEFAULT_REPEAT_SECONDS, namedResponders, type EscalationPolicy } from '../escalation/policy';
import type { CreateZone, Polygon, Zone } from './schemas';
import type { ZoneShape } from './locate';

interface ZoneRow {
  id: string;
  name: string;
  is_fallback: boolean;
  boundary: Polygon | null;
  check_in_seconds: number;
  check_in_grace_seconds: number;
  readiness_grace_seconds: number;
  escalation_policy: EscalationPolicy | null;
  created_at: Date;
}

const toZone = (r: ZoneRow): Zone => ({
  id: r.id,
  name: r.name,
  fallback: r.is_fallback,
  boundary: r.boundary,
  checkInSeconds: r.check_in_seconds,
  checkInGraceSeconds: r.check_in_grace_seconds,
  readinessGraceSeconds: r.readiness_grace_seconds,
  escalationPolicy: r.escalation_policy,
  createdAt: r.created_at.toISOString(),
});

export async function createZone(sql: Sql, z: CreateZone): Promise<Zone> {
  try {
    const [row] = await sql<ZoneRow[]>`
      INSERT INTO zones (name, boundary, is_fallback, check_in_seconds, check_in_grace_seconds, readiness_grace_seconds)
      VALUES (${z.name}, ${'boundary' in z ? sql.json(z.boundary) : null}, ${z.fallback === true},
              ${z.checkInSeconds ?? 300}, ${z.checkInGraceSeconds ?? 120}, ${z.readinessGraceSeconds ?? 600})
      RETURNING *`;
    return toZone(row);
  } catch (e) {
    if ((e as { constraint_name?: string }).constraint_name === 'zones_one_fallback') {
      throw new AppError('conflict', 'a fallback zone already exists');
    }
    throw e;
  }
}

export async function listZones(sql: Sql): Promise<Zone[]> {
  return (await sql<ZoneRow[]>`SELECT * FROM zones ORDER BY created_at, id`).map(toZone);
}

export async function getZone(sql: Sql, id: string): Promise<Zone> {
  const [row] = await sql<ZoneRow[]>`SELECT * FROM zones WHERE id = ${id}`;
  if (!row) throw notFound('zone');
  return toZone(row);
}

/** Responder ids among `ids` that are not supervisors or safety leads. */
export async function unknownResponders(sql: Sql, ids: string[]): Promise<string[]> {
  if (ids.length === 0) return [];
  const wanted = [...new Set(ids.map((id) => id.toLowerCase()))];
  const found = await sql<{ id: string }[]>`
    SELECT id FROM users WHERE id = ANY(${wanted}::uuid[]) AND role IN ('supervisor', 'safety_lead')`;
  const ok = new Set(found.map((r) => r.id));
  return wanted.filter((id) => !ok.has(id));
}

async function requireResponders(sql: Sql, ids: string[]) {
  const missing = await unknownResponders(sql, ids);
  if (missing.length) throw new AppError('validation_failed', `not a responder: ${missing.join(', ')}`, { responderIds: missing });
}

export async function setEscalationPolicy(sql: Sql, zoneId: string, policy: EscalationPolicy) {
  await requireResponders(sql, namedResponders(policy));
  const rows = await sql`UPDATE zones SET escalation_policy = ${sql.json(policy)} WHERE id = ${zoneId} RETURNING id`;
  if (rows.count === 0) throw notFound('zone');
  return { zoneId, ...policy, repeatEverySeconds: policy.repeatEverySeconds ?? DEFAULT_REPEAT_SECONDS };
}

export async function setRotation(sql: Sql, zoneId: string, r: { responderIds: string[]; shiftMinutes: number; startsAt: string }) {
  await getZone(sql, zoneId);
  await requireResponders(sql, r.responderIds);
  await sql`
    INSERT INTO rotations (zone_id, responder_ids, shift_minutes, starts_at)
    VALUES (${zoneId}, ${r.responderIds}::uuid[], ${r.shiftMinutes}, ${r.startsAt})
    ON CONFLICT (zone_id) DO UPDATE
      SET responder_ids = EXCLUDED.responder_ids, shift_minutes = EXCLUDED.shift_minutes,
          starts_at = EXCLUDED.starts_at, updated_at = now()`;
  return { zoneId, responderIds: r.responderIds, shiftMinutes: r.shiftMinutes, startsAt: new Date(r.startsAt).toISOString() };
}

export async function addOverride(sql: Sql, zoneId: string, o: { responderId: string; from: string; to: string }) {
  await getZone(sql, zoneId);
  await requireResponders(sql, [o.responderId]);
  const [row] = await sql<{ id: string; from_at: Date; to_at: Date }[]>`
    INSERT INTO overrides (zone_id, responder_id, from_at, to_at)
    VALUES (${zoneId}, ${o.responderId}, ${o.from}, ${o.to}) RETURNING id, from_at, to_at`;
  return { id: row.id, zoneId, responderId: o.responderId, from: row.from_at.toISOString(), to: row.to_at.toISOString() };
}

export async function oncallAt(sql: Sql, zoneId: string, at: Date) {
  await getZone(sql, zoneId);
  // confirmedAt: the responder's OK to the readiness check of the shift they are on at `at`.
  const [row] = await sql<{ responder_id: string | null; confirmed_at: Date | null }[]>`
    SELECT o.responder_id,
           (SELECT c.confirmed_at FROM readiness_checks c
             WHERE c.zone_id = ${zoneId} AND c.responder_id = o.responder_id AND c.shift_start <= ${at}
               AND (c.shift_end IS NULL OR c.shift_end > ${at})
             ORDER BY c.shift_start DESC LIMIT 1) AS confirmed_at
    FROM (SELECT oncall_responder(${zoneId}, ${at}) AS responder_id) o`;
  return { zoneId, at: at.toISOString(), responderId: row.responder_id, confirmedAt: row.confirmed_at?.toISOString() ?? null };
}

/**
 * The zone shapes SOS intake resolves against, kept in memory so an SOS costs no extra read.
 * Writes on this instance refresh it at once (invalidate()); other instances' writes are seen
 * once a reload after `ttlMs` lands. An SOS never waits for a routine reload: once the shapes
 * are `ttlMs` old the next SOS starts one and goes on with the shapes it has (up to `2 × ttlMs`
 * old; older, or after invalidate(), it waits for the load).
 */
export class ZoneDirectory {
  private shapes?: Promise<ZoneShape[]>;
  private loadedAt = 0;
  private reloading = false;
  /** Bumped by invalidate() and by a load waited for: a reload started before must not install what it read. */
  private generation = 0;

  constructor(
    private sql: Sql,
    private ttlMs = 2_000,
    private now: () => number = Date.now,
  ) {}

  async get(): Promise<ZoneShape[]> {
    const age = this.now() - this.loadedAt;
    if (!this.shapes || age > 2 * this.ttlMs) {
      this.loadedAt = this.now();
      this.generation++; // a background reload still running read before this load: it must not install
      const shapes = this.load();
      this.shapes = shapes;
      shapes.catch(() => {
        if (this.shapes === shapes) this.shapes = undefined;
      });
      return shapes;
    }
    if (age > this.ttlMs && !this.reloading) this.reload();
    return this.shapes;
  }

  invalidate() {
    this.shapes = undefined;
    this.generation++;
  }

  private reload() {
    this.reloading = true;
    const generation = this.generation;
    this.load()
      .then((rows) => {
        if (generation !== this.generation) return;
        this.shapes = Promise.resolve(rows);
        this.loadedAt = this.now();
      })
      .catch(() => undefined) // the shapes it has stay; past 2 × ttlMs the next SOS loads and waits
      .finally(() => (this.reloading = false));
  }

  private async load(): Promise<ZoneShape[]> {
    const rows = await this.sql<{ id: string; is_fallback: boolean; boundary: Polygon | null }[]>`
      SELECT id, is_fallback, boundary FROM zones ORDER BY created_at, id`;
    return rows.map((r) => ({ id: r.id, fallback: r.is_fallback, boundary: r.boundary }));
  }
}
