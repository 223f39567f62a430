/**
 * The end of a chaos run and what it checks: wait for every incident to be acknowledged or
 * exhausted, resolve what is left, drain; then the properties every chaos script asserts against
 * the stand-in's record and the database, and the PASS/FAIL report.
 */
import os from 'node:os';
import type { Sql } from '../../src/db/client';
import type { Standin } from '../twilio-standin';
import { call } from './api';
import type { Acker, Person, SosLoad } from './chaos';
import { retrying, say, sleep } from './run';

// --- the end of a run ---------------------------------------------------------------------------------

/**
 * Until every incident has an incident.acknowledged or escalation.exhausted event (or `ms` passes).
 * Answers the incidents that got neither.
 */
export async function waitAckOrExhaustion(sql: Sql, ms: number, alive: () => void = () => {}): Promise<{ open: string[]; waitedMs: number }> {
  const t0 = Date.now();
  for (;;) {
    alive();
    const rows = await retrying('ack/exhaustion', () => sql<{ id: string }[]>`
      SELECT i.id FROM incidents i
      WHERE NOT EXISTS (SELECT 1 FROM incident_events e WHERE e.incident_id = i.id AND e.type IN ('incident.acknowledged', 'escalation.exhausted'))`);
    if (!rows.length || Date.now() - t0 > ms) return { open: rows.map((r) => r.id), waitedMs: Date.now() - t0 };
    await sleep(250);
  }
}

/**
 * The end of a run: first the pages stuck right now (queued and due for over 5 s, or sending
 * with a lease run out over 2 s ago: the sweep acts every second), then every incident not
 * resolved yet is resolved through the API as the safety lead, so that paging and check-ins stop
 * and the run can drain. Answers how many were resolved (and how many of them were still open).
 */
export async function closeAll(sql: Sql, base: () => string, lead: Person): Promise<{ resolved: number; open: number; stuck: string[] }> {
  const stuck = await retrying('stuck pages', () => sql<{ id: string; status: string; purpose: string; channel: string; attempt: number }[]>`
    SELECT id, status, purpose, channel, attempt FROM pages
    WHERE (status = 'queued' AND not_before < now() - interval '5 seconds') OR (status = 'sending' AND lease_until < now() - interval '2 seconds')`);
  const rows = await sql<{ id: string; status: string }[]>`SELECT id, status FROM incidents WHERE status <> 'resolved'`;
  let resolved = 0;
  for (const { id } of rows) {
    await retrying(`resolve ${id}`, async () => {
      const res = await call(base(), 'POST', `/v1/incidents/${id}/resolve`, lead.token, { disposition: 'resolved_safe', note: 'chaos run over' }, 10_000);
      if (res.status !== 200 && res.status !== 409) throw new Error(`answered ${res.status}`);
      if (res.status === 200) resolved++;
    }, 30_000);
  }
  return {
    resolved,
    open: rows.filter((r) => r.status === 'open').length,
    stuck: stuck.map((r) => `page ${r.id} (${r.purpose} ${r.channel} attempt ${r.attempt}) ${r.status} past its time before the end`),
  };
}

/**
 * Until nothing is queued (due) or sending, the stand-in has no request in its handler and no
 * callback still to send, and none of that has changed for `quietMs` — or `ms` passes.
 */
export async function drain(sql: Sql, standin: Standin, ms: number, quietMs = 1_500, alive: () => void = () => {}) {
  const t0 = Date.now();
  let last = '';
  let since = Date.now();
  for (;;) {
    alive();
    const [row] = await retrying('drain', () => sql<{ queued: number; sending: number }[]>`
      SELECT count(*) FILTER (WHERE status = 'queued' AND not_before <= now())::int AS queued, count(*) FILTER (WHERE status = 'sending')::int AS sending FROM pages`);
    const s = standin.stats();
    const key = `${row.queued}/${row.sending}/${s.received}/${s.callbacks.sent + s.callbacks.failed}/${s.inflight}/${s.pendingCallbacks}`;
    if (key !== last) (last = key), (since = Date.now());
    const idle = row.queued === 0 && row.sending === 0 && s.inflight === 0 && s.pendingCallbacks === 0;
    if ((idle && Date.now() - since >= quietMs) || Date.now() - t0 > ms) return { ...row, inflight: s.inflight, waitedMs: Date.now() - t0, idle };
    await sleep(200);
  }
}

/**
 * The end of a run once the load is over: wait up to `ackMs` for every incident to be acknowledged
 * or exhausted, resolve what is left (closeAll), drain (up to `drainMs`) and stop the acker.
 * `alive` throws when a Mayday that should be up is not.
 */
export async function endRun(o: {
  sql: Sql; standin: Standin; acker: Acker; base: () => string; lead: Person; ackMs: number; drainMs: number; alive?: () => void; draining?: string;
}) {
  const { open, waitedMs } = await waitAckOrExhaustion(o.sql, o.ackMs, o.alive);
  const end = await closeAll(o.sql, o.base, o.lead);
  say(`resolved the ${end.resolved} incidents left (${end.open} unacknowledged); draining${o.draining ? ` (${o.draining})` : ''}`);
  const drained = await drain(o.sql, o.standin, o.drainMs, 1_500, o.alive);
  say(`drained in ${(drained.waitedMs / 1000).toFixed(1)} s`);
  await o.acker.stop();
  o.alive?.();
  return { open, waitedMs, end, drained };
}

// --- checks -------------------------------------------------------------------------------------------

export interface Check { name: string; ok: boolean; figures: string; details?: string[] }
export const check = (name: string, ok: boolean, figures: string, details?: string[]): Check => ({ name, ok, figures, details: ok ? undefined : details?.slice(0, 12) });

/** Every flow answered 201/200, every answer's incident stored, one incident per flow and nothing else. */
export async function checkStored(sql: Sql, load: SosLoad): Promise<Check> {
  const named = new Set(load.answers.filter((a) => a.incidentId).map((a) => a.incidentId!));
  const stored = await sql<{ id: string; driver_id: string; client_request_id: string }[]>`SELECT id, driver_id, client_request_id FROM incidents`;
  const have = new Set(stored.map((r) => r.id));
  const missing = [...named].filter((id) => !have.has(id));
  const split = load.flows.filter((f) => f.ids.size > 1);
  const unanswered = load.flows.filter((f) => !f.incidentId);
  const flowOf = load.byRequestId();
  const extra = stored.filter((r) => !flowOf.has(r.client_request_id));
  const perFlow = new Map<string, number>();
  for (const r of stored) perFlow.set(r.client_request_id, (perFlow.get(r.client_request_id) ?? 0) + 1);
  const doubled = [...perFlow].filter(([, n]) => n > 1);
  const n201 = load.answers.filter((a) => a.status === 201).length;
  const n200 = load.answers.filter((a) => a.status === 200).length;
  const ok = !missing.length && !split.length && !unanswered.length && !extra.length && !doubled.length;
  return check('every SOS answered 201/200 is stored (one incident per SOS)', ok,
    `${load.flows.length} SOS, ${n201} × 201 + ${n200} × 200 answers naming ${named.size} incidents; ${stored.length} stored; missing ${missing.length}, ` +
    `never answered ${unanswered.length}, one SOS → two incidents ${split.length + doubled.length}, unexpected ${extra.length}`,
    [...missing.map((id) => `answered but not stored: ${id}`), ...unanswered.map((f) => `SOS ${f.i} never answered 201/200`),
      ...split.map((f) => `SOS ${f.i} answered with ${[...f.ids].join(', ')}`), ...doubled.map(([c, n]) => `clientRequestId ${c}: ${n} incidents`)]);
}

export function checkAckOrExhaustion(total: number, open: string[], waitedMs: number): Check {
  return check('every incident reached an acknowledgement or exhaustion', open.length === 0,
    `${total - open.length}/${total} (waited ${(waitedMs / 1000).toFixed(1)} s after the load)`, open.map((id) => `incident ${id}: neither incident.acknowledged nor escalation.exhausted`));
}

export function checkExactlyOnce(standin: Standin): Check {
  const s = standin.stats();
  const counts = Object.values(s.pages ?? {});
  return check('no page accepted twice by Twilio (per page id ≤ 1)', s.duplicates.length === 0,
    `${counts.length} page ids accepted, max per page ${Math.max(0, ...counts)}, ${s.duplicates.length} accepted more than once`,
    s.duplicates.map((d) => `page ${d.pageId} accepted ${d.accepted} times`));
}

export async function checkTimelines(sql: Sql): Promise<Check> {
  const rows = await sql<{ id: string; valid: boolean; n: number }[]>`SELECT i.id, v.valid, v.event_count AS n FROM incidents i CROSS JOIN LATERAL timeline_verify(i.id) v`;
  const bad = rows.filter((r) => !r.valid);
  return check('every timeline verifies (timeline_verify)', bad.length === 0 && rows.length > 0,
    `${rows.length - bad.length}/${rows.length} valid, ${rows.reduce((a, r) => a + r.n, 0)} events`, bad.map((r) => `incident ${r.id}: timeline_verify says invalid`));
}

interface PageRow {
  id: string; incident_id: string; status: string; purpose: string; channel: string; attempt: number; sid: string | null; not_before: Date;
  failed_ev: boolean; unknown_ev: boolean; has_next: boolean; acked_before_unknown: boolean; incident_status: string;
}

/**
 * The pages table against the stand-in's record, after the drain:
 *  - nothing queued (due) or sending, nor stuck before the end (`stuckBefore`, from closeAll);
 *  - sent/delivered/voicemail: accepted exactly once, with the SID Mayday stored;
 *  - failed: a page.failed event; canceled: never accepted;
 *  - unknown: a page.unknown event and a next attempt (unless it was the last attempt or the
 *    incident no longer needed paging);
 *  - every page the stand-in accepted has a row in a state that says so;
 *  - every incident had at least one page accepted.
 */
export async function checkPages(sql: Sql, standin: Standin, stuckBefore: string[] = [], maxAttempts = 3): Promise<{ checks: Check[]; byStatus: Record<string, number>; unknownByLease: number }> {
  const rows = await sql<PageRow[]>`
    SELECT p.id, p.incident_id, p.status, p.purpose, p.channel, p.attempt, p.sid, p.not_before, i.status AS incident_status,
      EXISTS (SELECT 1 FROM incident_events e WHERE e.incident_id = p.incident_id AND e.type = 'page.failed' AND e.data ->> 'pageId' = p.id::text) AS failed_ev,
      EXISTS (SELECT 1 FROM incident_events e WHERE e.incident_id = p.incident_id AND e.type = 'page.unknown' AND e.data ->> 'pageId' = p.id::text) AS unknown_ev,
      EXISTS (SELECT 1 FROM pages r WHERE r.incident_id = p.incident_id AND r.recipient_id = p.recipient_id AND r.channel = p.channel
              AND r.step = p.step AND r.round = p.round AND r.attempt = p.attempt + 1) AS has_next,
      EXISTS (SELECT 1 FROM incident_events a JOIN incident_events u ON u.incident_id = a.incident_id
              WHERE a.incident_id = p.incident_id AND a.type IN ('incident.acknowledged', 'incident.resolved', 'cancel.requested')
                AND u.type = 'page.unknown' AND u.data ->> 'pageId' = p.id::text AND a.seq < u.seq) AS acked_before_unknown
    FROM pages p JOIN incidents i ON i.id = p.incident_id`;
  const byLease = await sql<{ page_id: string }[]>`
    SELECT data ->> 'pageId' AS page_id FROM incident_events WHERE type = 'page.unknown' AND data ->> 'error' = 'sender stopped while sending'`;
  const by_lease = byLease.length;
  const s = standin.stats();
  const accepted = s.pages ?? {};
  const leaseAccepted = byLease.filter((r) => accepted[r.page_id]).length;
  const sidOf = new Map<string, string>();
  for (const r of standin.requests()) if (r.pageId && r.sid) sidOf.set(r.pageId, r.sid);
  const byStatus: Record<string, number> = {};
  for (const r of rows) byStatus[r.status] = (byStatus[r.status] ?? 0) + 1;
  const now = Date.now();
  const stuck = rows.filter((r) => r.status === 'sending' || (r.status === 'queued' && r.not_before.getTime() < now - 2_000));
  const badSent = rows.filter((r) => ['sent', 'delivered', 'voicemail'].includes(r.status) && (accepted[r.id] !== 1 || sidOf.get(r.id) !== r.sid));
  const failedNoEvent = rows.filter((r) => r.status === 'failed' && !r.failed_ev);
  const canceledSent = rows.filter((r) => r.status === 'canceled' && accepted[r.id]);
  const unknown = rows.filter((r) => r.status === 'unknown');
  const unknownBad = unknown.filter((r) => !r.unknown_ev || (!r.has_next && r.attempt < maxAttempts && !r.acked_before_unknown
    && !(['page', 'failover', 'retry'].includes(r.purpose) && r.incident_status !== 'open')));
  const rowById = new Map(rows.map((r) => [r.id, r]));
  const orphanAccepts = Object.keys(accepted).filter((id) => !rowById.has(id) || ['queued', 'canceled'].includes(rowById.get(id)!.status));
  const pagedIncidents = new Set(Object.keys(accepted).map((id) => rowById.get(id)?.incident_id).filter(Boolean));
  const incidents = await sql<{ id: string }[]>`SELECT id FROM incidents`;
  const neverPaged = incidents.filter((i) => !pagedIncidents.has(i.id));
  const fmtStatus = Object.entries(byStatus).sort((a, b) => b[1] - a[1]).map(([k, n]) => `${k} ${n}`).join(', ');
  return {
    byStatus,
    unknownByLease: by_lease,
    checks: [
      check('nothing stuck in queued/sending (before the end, and after the drain)', stuck.length === 0 && stuckBefore.length === 0,
        `${rows.length} pages: ${fmtStatus}; stuck before the end ${stuckBefore.length}, after the drain ${stuck.length}`,
        [...stuckBefore, ...stuck.map((r) => `page ${r.id} (${r.purpose} ${r.channel} attempt ${r.attempt}) still ${r.status} after the drain`)]),
      check('every sent/delivered page was accepted exactly once, with the SID stored', badSent.length === 0 && orphanAccepts.length === 0,
        `${rows.filter((r) => ['sent', 'delivered', 'voicemail'].includes(r.status)).length} sent/delivered/voicemail; ${badSent.length} not matching the stand-in; ` +
        `${orphanAccepts.length} accepted pages with no row or a queued/canceled row`,
        [...badSent.map((r) => `page ${r.id} ${r.status} sid ${r.sid}: stand-in accepted it ${accepted[r.id] ?? 0}× (sid ${sidOf.get(r.id)})`),
          ...orphanAccepts.map((id) => `page ${id} accepted by the stand-in but ${rowById.get(id)?.status ?? 'has no row'}`)]),
      check('no page dropped: every failed page has page.failed, no canceled page went out', failedNoEvent.length === 0 && canceledSent.length === 0,
        `${byStatus.failed ?? 0} failed (${failedNoEvent.length} without page.failed), ${byStatus.canceled ?? 0} canceled (${canceledSent.length} of them accepted)`,
        [...failedNoEvent.map((r) => `page ${r.id} failed without a page.failed event`), ...canceledSent.map((r) => `page ${r.id} canceled but accepted`)]),
      check('every unknown outcome has page.unknown and a next attempt', unknownBad.length === 0,
        `${unknown.length} unknown (${by_lease} by lease expiry, ${leaseAccepted} of which Twilio had taken), ${unknown.filter((r) => r.has_next).length} with a next attempt, ${unknownBad.length} wrong`,
        unknownBad.map((r) => `page ${r.id} unknown: event ${r.unknown_ev}, next attempt ${r.has_next}, attempt ${r.attempt}, incident ${r.incident_status}`)),
      check('every incident was paged (a page accepted by Twilio)', neverPaged.length === 0,
        `${incidents.length - neverPaged.length}/${incidents.length}`, neverPaged.map((i) => `incident ${i.id} never reached the stand-in`)),
    ],
  };
}

/**
 * The checks every run makes after its own first ones, in this order: every incident acknowledged
 * or exhausted, no page accepted twice, the pages table against the stand-in's record.
 */
export async function pagingChecks(sql: Sql, standin: Standin, r: { open: string[]; waitedMs: number; end: { stuck: string[] } }) {
  const [{ n: total }] = await sql<{ n: number }[]>`SELECT count(*)::int AS n FROM incidents`;
  const ackOrExhaustion = checkAckOrExhaustion(total, r.open, r.waitedMs);
  const once = checkExactlyOnce(standin);
  const pages = await checkPages(sql, standin, r.end.stuck);
  return { total, pages, checks: [ackOrExhaustion, once, ...pages.checks] };
}

/** How the incidents ended: exhausted, and acknowledged by a person (by SMS reply, by keypress). */
export async function outcomes(sql: Sql) {
  const [ev] = await sql<{ exhausted: number; acked: number; sms: number; voice: number }[]>`
    SELECT count(*) FILTER (WHERE exhausted_at IS NOT NULL)::int AS exhausted, count(*) FILTER (WHERE ack_via IN ('sms', 'voice'))::int AS acked,
           count(*) FILTER (WHERE ack_via = 'sms')::int AS sms, count(*) FILTER (WHERE ack_via = 'voice')::int AS voice FROM incidents`;
  return ev;
}

/** Report lines every run prints: what the acker did, the pages by status, and how long each part of the run took. */
export const ackerFact = (acker: Acker) => `acker: ${acker.stats.sms} SMS replies + ${acker.stats.voice} keypresses, ${acker.stats.ok} taken, ${acker.stats.failed} failed`;
export const pagesFact = (byStatus: Record<string, number>) => `pages: ${Object.entries(byStatus).map(([k, n]) => `${k} ${n}`).join(', ')}`;
export const runFact = (t0: number, loadEnd: number, waitedMs: number, drainedMs: number) =>
  `run: load ${((loadEnd - t0) / 1000).toFixed(0)} s, ${(waitedMs / 1000).toFixed(1)} s to ack/exhaustion, ${(drainedMs / 1000).toFixed(1)} s drain; total ${((Date.now() - t0) / 1000).toFixed(0)} s`;

/** The machine's load average (1, 5, 15 min) as the run ends: the timings above are only as good as the CPU they got. */
export const loadFact = () => `machine: ${os.cpus().length} cores, load average ${os.loadavg().map((x) => x.toFixed(1)).join(' / ')} (1 / 5 / 15 min) at the end`;

// --- report ---------------------------------------------------------------------------------------------

export function report(title: string, facts: string[], checks: Check[], warnings: string[] = []): boolean {
  const ok = checks.every((c) => c.ok);
  const L: string[] = ['', `${title}: ${ok ? 'PASS' : 'FAIL'}`];
  for (const f of facts) L.push(`  ${f}`);
  L.push('');
  for (const c of checks) {
    L.push(`  [${c.ok ? 'PASS' : 'FAIL'}] ${c.name}: ${c.figures}`);
    for (const d of c.details ?? []) L.push(`           ${d}`);
  }
  for (const w of warnings) L.push(`  warning: ${w}`);
  L.push('', `${title}: ${ok ? 'PASS' : `FAIL (${checks.filter((c) => !c.ok).length} of ${checks.length} properties violated)`}`, '');
  process.stdout.write(L.join('\n'));
  return ok;
}
