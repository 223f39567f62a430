/**
 * Checks an ndjson audit export with nothing but the export and the public keys one trusts: what a
 * safety team runs on a file (`npm run verify:export`, scripts/verify-export.ts). No database, no
 * service: every hash is recomputed here, every checkpoint signature checked here.
 *
 *  - each timeline: seq 1..n, every prevHash the hash before it, every hash recomputed from the
 *    event's fields (data in PostgreSQL's jsonb text form), headHash the last hash;
 *  - each incident row against its events (the same rules as incident_row_disagreements());
 *  - the checkpoints: consecutive, each one's heads digest, hash and link recomputed, every
 *    signature checked with a trusted key; and every head a checkpoint covered, of an exported
 *    incident, still there in the export with the same hash.
 */
import { sha256hex, sortHeads, verifyCheckpointRun, type Checkpoint, type PublicKey } from '../timeline/checkpoints';
import type { TimelineEvent } from '../timeline/schemas';
import type { ExportIncident } from './store';

/** A JSON value as PostgreSQL's jsonb writes it: keys by length then bytes, ", " and ": " separators. */
export function jsonbText(v: unknown): string {
  if (v === null || v === undefined) return 'null';
  if (typeof v === 'string' || typeof v === 'boolean') return JSON.stringify(v);
  if (typeof v === 'number') return String(v);
  if (Array.isArray(v)) return `[${v.map(jsonbText).join(', ')}]`;
  const enc = new TextEncoder();
  const keys = Object.keys(v as object).sort((a, b) => {
    const x = enc.encode(a);
    const y = enc.encode(b);
    if (x.length !== y.length) return x.length - y.length;
    for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return x[i] - y[i];
    return 0;
  });
  return `{${keys.map((k) => `${JSON.stringify(k)}: ${jsonbText((v as Record<string, unknown>)[k])}`).join(', ')}}`;
}

/** An event's hash, as timeline_hash() computes it. */
export const eventHash = (incidentId: string, e: TimelineEvent) =>
  sha256hex([e.prevHash, incidentId, e.seq, e.type, e.at, e.actor, jsonbText(e.data)].join('\n'));

const sameMs = (a: string | null | undefined, b: string | null | undefined) =>
  (a ?? null) === null || (b ?? null) === null ? (a ?? null) === (b ?? null) : Math.abs(Date.parse(a!) - Date.parse(b!)) < 1;

/** The fields of an exported incident that its events do not say (see incident_row_disagreements()). */
export function rowDisagreementsOf(i: ExportIncident['incident'], events: TimelineEvent[]): string[] {
  const out: string[] = [];
  const last = (type: string) => [...events].reverse().find((e) => e.type === type);
  const d = (e: TimelineEvent | undefined, k: string) => (e?.data[k] ?? null) as unknown;
  const opened = events.find((e) => e.type === 'incident.opened');
  if (!opened) out.push('opened');
  else {
    const refined = [...events].reverse().find((e) => e.type === 'incident.details' && typeof e.data.kind === 'string');
    if (i.kind !== (d(refined, 'kind') ?? d(opened, 'kind'))) out.push('kind');
    if (i.source !== d(opened, 'source')) out.push('source');
    if (i.zoneId !== d(opened, 'zoneId')) out.push('zone_id');
    if (i.note !== d(opened, 'note')) out.push('note');
    if (!sameMs(i.openedAt, opened.at)) out.push('opened_at');
    if (opened.actor.startsWith('driver:') && i.driverId !== opened.actor.slice(7)) out.push('driver_id');
  }
  const severity = (d(last('incident.severity_raised'), 'to') ?? d(opened, 'severity')) as string | null;
  if (i.severity !== severity) out.push('severity');
  const statusEvent = [...events].reverse().find((e) =>
    ['incident.opened', 'incident.acknowledged', 'cancel.requested', 'incident.resolved'].includes(e.type) ||
    (e.type === 'duress.triggered' && e.data.statusBefore === 'cancel_requested'));
  const status = !statusEvent ? null
    : ({ 'incident.resolved': 'resolved', 'incident.acknowledged': 'acknowledged', 'cancel.requested': 'cancel_requested' } as Record<string, string>)[statusEvent.type] ?? 'open';
  if (i.status !== status) out.push('status');
  const ack = last('incident.acknowledged');
  if (i.acknowledgedBy !== d(ack, 'by')) out.push('acknowledged_by');
  if (!sameMs(i.acknowledgedAt, ack?.at ?? null)) out.push('acknowledged_at');
  const res = last('incident.resolved');
  if (i.resolvedBy !== d(res, 'by')) out.push('resolved_by');
  if (!sameMs(i.resolvedAt, res?.at ?? null)) out.push('resolved_at');
  if (i.disposition !== d(res, 'disposition')) out.push('disposition');
  if (i.resolutionNote !== d(res, 'note')) out.push('resolution_note');
  if (!sameMs(i.duressAt, events.find((e) => e.type === 'duress.triggered')?.at ?? null)) out.push('duress_at');
  if (!sameMs(i.coarsenedAt, events.find((e) => e.type === 'location.redacted')?.at ?? null)) out.push('coarsened_at');
  return out;
}

export interface OfflineReport {
  ok: boolean;
  problems: string[];
  incidents: number;
  events: number;
  /** Events covered by a signed checkpoint (they and everything before them in their chain). */
  coveredEvents: number;
  checkpoints: number;
  newestCheckpointAt: string | null;
}

export async function verifyExport(ndjson: string, trusted: PublicKey[]): Promise<OfflineReport> {
  const problems: string[] = [];
  const incidents: (ExportIncident & { checkpointed?: ExportIncident['checkpointed'] })[] = [];
  const checkpoints: Checkpoint[] = [];
  for (const [n, line] of ndjson.split('\n').entries()) {
    if (!line.trim()) continue;
    let x: Record<string, unknown>;
    try {
      x = JSON.parse(line);
    } catch {
      problems.push(`line ${n + 1}: not JSON`);
      continue;
    }
    if (x.incident) incidents.push(x as unknown as ExportIncident);
    else if (x.checkpoint) checkpoints.push(x.checkpoint as Checkpoint);
  }
  let events = 0;
  let coveredEvents = 0;
  const byId = new Map(incidents.map((x) => [x.incident.id, x]));
  for (const x of incidents) {
    const id = x.incident.id;
    const name = `incident ${id} (#${x.incident.code})`;
    events += x.events.length;
    let prev = '0'.repeat(64);
    for (const [k, e] of x.events.entries()) {
      if (e.seq !== k + 1) problems.push(`${name}: event ${k + 1} has seq ${e.seq}`);
      if (e.prevHash !== prev) problems.push(`${name}: event ${e.seq} does not follow the one before`);
      if ((await eventHash(id, e)) !== e.hash) problems.push(`${name}: event ${e.seq}'s hash does not match its fields`);
      prev = e.hash;
    }
    if ((x.headHash ?? null) !== (x.events.length ? x.events[x.events.length - 1].hash : null)) problems.push(`${name}: headHash is not its last event's hash`);
    const row = rowDisagreementsOf(x.incident, x.events);
    if (row.length) problems.push(`${name}: the incident row disagrees with its events on ${row.join(', ')}`);
    let covered = 0;
    for (const c of x.checkpointed ?? []) {
      const e = x.events[c.seq - 1];
      if (!e) problems.push(`${name}: checkpoint ${c.checkpointSeq} covered event ${c.seq}, which is missing (truncated)`);
      else if (e.hash !== c.hash) problems.push(`${name}: event ${c.seq} is not what checkpoint ${c.checkpointSeq} covered (rewritten)`);
      covered = Math.max(covered, c.seq);
    }
    coveredEvents += Math.min(covered, x.events.length);
  }
  checkpoints.sort((a, b) => a.seq - b.seq);
  // Every checkpoint an incident line names must be in the file, or its signature vouches for nothing.
  const present = new Set(checkpoints.map((c) => c.seq));
  for (const x of incidents) {
    for (const c of x.checkpointed ?? []) {
      if (!present.has(c.checkpointSeq)) problems.push(`incident ${x.incident.id}: checkpoint ${c.checkpointSeq} is missing from the export`);
    }
  }
  problems.push(...(await verifyCheckpointRun(checkpoints, trusted, { everySignature: true })));
  // Every head a checkpoint covered, of an exported incident, must be in the export as it was signed.
  const listed = new Set(incidents.flatMap((x) => (x.checkpointed ?? []).map((c) => `${x.incident.id} ${c.seq} ${c.hash} ${c.checkpointSeq}`)));
  for (const c of checkpoints) {
    for (const h of sortHeads(c.heads ?? [])) {
      const x = byId.get(h.incidentId);
      if (!x) continue;
      const e = x.events[h.seq - 1];
      if (!e) problems.push(`incident ${h.incidentId}: checkpoint ${c.seq} covered event ${h.seq}, which is missing (truncated)`);
      else if (e.hash !== h.hash) problems.push(`incident ${h.incidentId}: event ${h.seq} is not what checkpoint ${c.seq} covered (rewritten)`);
      else if (!listed.has(`${h.incidentId} ${h.seq} ${h.hash} ${c.seq}`)) problems.push(`incident ${h.incidentId}: checkpoint ${c.seq}'s head ${h.seq} is missing from its line`);
    }
  }
  const newest = checkpoints[checkpoints.length - 1];
  return {
    ok: problems.length === 0,
    problems: [...new Set(problems)],
    incidents: incidents.length,
    events,
    coveredEvents,
    checkpoints: checkpoints.length,
    newestCheckpointAt: newest?.at ?? null,
  };
}
