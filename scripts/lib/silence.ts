/**
 * What issue 18 asks the chaos scripts to measure ("no silent seconds"), from the Twilio
 * stand-in's record of requests (arrival, answer or abort, fault) and the database's pages,
 * events and incidents, after a run:
 *
 *  - silence: for each logical page (incident, recipient, channel, step, round: all its attempts
 *    together), from when it was due (its first attempt's created_at) until the stand-in accepted
 *    one of its attempts (answered 201; or, for a hung request it took, Mayday recorded a status
 *    callback saying it was sent or delivered: sent_at, delivered_at), or the incident was
 *    acknowledged or resolved, or its attempts ran out (its last attempt settled failed or unknown
 *    with none after it: that page.failed or page.unknown), the time during which no attempt of
 *    it was open at the stand-in and none had been accepted: a total over that window (the
 *    longest single gap is reported beside it). A request
 *    is open from its arrival until it was answered or its client went away; a hung request only
 *    for `hedgeMs` after it arrived (by then Mayday is expected to have hedged it with the next
 *    attempt). Time while Mayday was down (killed, until the new instance answered /readyz 200)
 *    does not count: the clock stops at the kill and runs again from that ready moment;
 *  - step lateness: for each escalation step (and repeat round), its escalation.step event's time
 *    minus its due time, less any time Mayday was down in between (a step due while it was down
 *    counts from the ready moment); a step due and never fired before the incident was
 *    acknowledged or resolved counts up to that moment;
 *  - the first SMS to the on-call: per SOS, from the first press (the first POST /v1/sos) to the
 *    first SMS page to the on-call's number that the stand-in accepted (as above: answered 201,
 *    or a hung one's callback recorded).
 */
import type { Sql } from '../../src/db/client';
import type { StandinRequest } from '../twilio-standin';
import { check, type Check } from './checks';
import { ms, pct } from './stats';

/** A stretch of time, epoch milliseconds, `from` included, `to` not. */
export interface Span { from: number; to: number }

/** `span` minus every span of `minus`, as disjoint spans in order. */
export function subtract(span: Span, minus: Span[]): Span[] {
  let left: Span[] = span.to > span.from ? [span] : [];
  for (const m of minus) {
    if (m.to <= m.from) continue;
    left = left.flatMap((s) => {
      if (m.to <= s.from || m.from >= s.to) return [s];
      const out: Span[] = [];
      if (m.from > s.from) out.push({ from: s.from, to: m.from });
      if (m.to < s.to) out.push({ from: m.to, to: s.to });
      return out;
    });
  }
  return left;
}
const length = (spans: Span[]) => spans.reduce((a, s) => a + (s.to - s.from), 0);

/** How long a request was open at the stand-in: arrival to answer or abort; a hung one at most `hedgeMs`. */
export function openSpan(r: StandinRequest, hedgeMs: number, end: number): Span {
  const to = r.answeredAt ?? r.abortedAt ?? end;
  return { from: r.at, to: r.outcome === 'hang' ? Math.min(to, r.at + hedgeMs) : to };
}

/** When the stand-in took a request it accepted (answered 201; the arrival if its answer never got out). */
const acceptedAt = (r: StandinRequest) => r.answeredAt ?? r.abortedAt ?? r.at;

interface PageRow {
  id: string; incident_id: string; recipient_id: string; phone: string; channel: string; step: number; round: number; attempt: number;
  purpose: string; status: string; created_ms: number; closed_ms: number | null; reported_ms: number | null;
}

export interface LogicalPage {
  key: string; incidentId: string; phone: string; channel: string; step: number; round: number;
  due: number; end: number; why: 'accepted' | 'reported by a callback' | 'acknowledged/resolved' | 'attempts ran out' | 'run over';
  silentMs: number; longestGapMs: number; attempts: number; requests: StandinRequest[];
}

/** Pages whose silence counts: those that page a responder (not the driver's check-ins, not notices). */
const PAGING = ['page', 'failover', 'retry', 'repage', 'duress'];

/** Every logical page's silence (see the top of this file). `down`: when Mayday was down; `end`: the run's end (default now). */
export async function measureSilence(sql: Sql, requests: StandinRequest[], o: { hedgeMs: number; down?: Span[]; end?: number }): Promise<LogicalPage[]> {
  const runEnd = o.end ?? Date.now();
  const rows = await sql<PageRow[]>`
    SELECT p.id, p.incident_id, p.recipient_id, p.phone, p.channel, p.step, p.round, p.attempt, p.purpose, p.status,
           (extract(epoch FROM p.created_at) * 1000)::float8 AS created_ms,
           (extract(epoch FROM least(i.acknowledged_at, i.resolved_at)) * 1000)::float8 AS closed_ms,
           (extract(epoch FROM least(p.sent_at, p.delivered_at)) * 1000)::float8 AS reported_ms
    FROM pages p JOIN incidents i ON i.id = p.incident_id
    WHERE p.purpose = ANY(${PAGING}::text[])`;
  const settled = await sql<{ page_id: string; at_ms: number }[]>`
    SELECT data ->> 'pageId' AS page_id, (extract(epoch FROM max(at)) * 1000)::float8 AS at_ms
    FROM incident_events WHERE type IN ('page.failed', 'page.unknown') GROUP BY 1`;
  const settledAt = new Map(settled.map((r) => [r.page_id, r.at_ms]));
  const reqsOf = new Map<string, StandinRequest[]>();
  for (const r of requests) if (r.pageId) reqsOf.set(r.pageId, [...(reqsOf.get(r.pageId) ?? []), r]);
  const groups = new Map<string, PageRow[]>();
  for (const p of rows) {
    const key = `${p.incident_id}/${p.recipient_id}/${p.channel}/${p.step}/${p.round}`;
    groups.set(key, [...(groups.get(key) ?? []), p]);
  }
  const out: LogicalPage[] = [];
  for (const [key, ps] of groups) {
    ps.sort((a, b) => a.attempt - b.attempt || a.created_ms - b.created_ms);
    const due = Math.min(...ps.map((p) => p.created_ms));
    const reqs = ps.flatMap((p) => reqsOf.get(p.id) ?? []).sort((a, b) => a.at - b.at);
    const accepted = Math.min(...reqs.filter((r) => r.outcome === 'accepted').map(acceptedAt));
    const closed = ps[0].closed_ms ?? Infinity;
    // A hung attempt Twilio took: its status callback (sent, delivered) tells Mayday it went out.
    const reported = Math.min(...ps.map((p) => p.reported_ms ?? Infinity));
    // Attempts ran out: the last attempt was settled failed or unknown (a late callback may have
    // moved its status on since) with none after it; its page.failed/page.unknown ends the wait.
    const last = ps[ps.length - 1];
    const ranOut = settledAt.has(last.id) && last.status !== 'queued' && last.status !== 'sending' ? settledAt.get(last.id)! : Infinity;
    const candidates: [number, LogicalPage['why']][] = [[accepted, 'accepted'], [reported, 'reported by a callback'], [closed, 'acknowledged/resolved'], [ranOut, 'attempts ran out'], [runEnd, 'run over']];
    const [end, why] = candidates.reduce((a, b) => (b[0] < a[0] ? b : a));
    const open = reqs.map((r) => openSpan(r, o.hedgeMs, runEnd));
    const silent = subtract({ from: due, to: Math.max(due, end) }, [...open, ...(o.down ?? [])]);
    out.push({
      key, incidentId: ps[0].incident_id, phone: ps[0].phone, channel: ps[0].channel, step: ps[0].step, round: ps[0].round, due, end, why,
      silentMs: length(silent), longestGapMs: Math.max(0, ...silent.map((s) => s.to - s.from)), attempts: ps.length, requests: reqs,
    });
  }
  return out;
}

/** One logical page's story relative to its due time: each request (arrival, outcome, answer/abort), the end, the silence. */
export function pageStory(p: LogicalPage, names: Record<string, string> = {}, down: Span[] = []): string {
  const t = (x: number) => `+${Math.round(x - p.due)} ms`;
  const reqs = p.requests.map((r) => `${r.pageId?.slice(0, 8)} ${t(r.at)} ${r.outcome}${r.answeredAt ? ` answered ${t(r.answeredAt)}` : r.abortedAt ? ` aborted ${t(r.abortedAt)}` : ''}`);
  const downs = down.filter((d) => d.to > p.due && d.from < p.end).map((d) => `Mayday down ${t(d.from)}..${t(d.to)}`);
  return `incident ${p.incidentId} ${names[p.phone] ?? p.phone} ${p.channel} step ${p.step} round ${p.round}: silent ${ms(p.silentMs)} (longest gap ${ms(p.longestGapMs)}); ` +
    `due ${new Date(p.due).toISOString()}, ${p.attempts} attempt(s), requests [${reqs.join('; ') || 'none'}]${downs.length ? `, ${downs.join(', ')}` : ''}; ended ${t(p.end)} (${p.why})`;
}

/** The check on silence: the longest any logical page waited, against `budgetMs`. */
export function silenceCheck(pages: LogicalPage[], o: { budgetMs: number; names?: Record<string, string>; down?: Span[] }): Check {
  const xs = pages.map((p) => p.silentMs);
  const over = pages.filter((p) => p.silentMs > o.budgetMs).sort((a, b) => b.silentMs - a.silentMs);
  const worst = [...pages].sort((a, b) => b.silentMs - a.silentMs)[0];
  const byWhy = new Map<string, number>();
  for (const p of pages) byWhy.set(p.why, (byWhy.get(p.why) ?? 0) + 1);
  // Which of those waited across a restart (Mayday down somewhere between due and end): the send a kill interrupted, or one due meanwhile.
  const acrossRestart = over.filter((p) => (o.down ?? []).some((d) => d.to > p.due && d.from < p.end)).length;
  return check(`no page waits in silence over ${o.budgetMs / 1000} s (no attempt open at Twilio, none accepted)`, over.length === 0 && pages.length > 0,
    `${pages.length} logical pages (${[...byWhy].map(([k, n]) => `${k} ${n}`).join(', ')}): silence p50 ${ms(pct(xs, 50))}, p99 ${ms(pct(xs, 99))}, ` +
      `max ${ms(Math.max(...xs))}; ${over.length} over ${ms(o.budgetMs)}${o.down ? ` (${acrossRestart} of them across a restart)` : ''}` +
      `${worst ? `; worst: ${pageStory(worst, o.names, o.down)}` : ''}`,
    over.map((p) => pageStory(p, o.names, o.down)));
}

/** Escalation steps as the zone's policy times them (steps after `afterSeconds`, repeats every `repeatEverySeconds`). */
export interface PolicyTimes { steps: { afterSeconds: number }[]; repeatEverySeconds: number }

export interface StepTiming { incidentId: string; step: number; round: number; due: number; at: number | null; lateMs: number; downMs: number }

/**
 * Every escalation step's lateness (see the top of this file): step i of round 0 is due at
 * opened_at + afterSeconds; repeat round r at the previous round's escalation.step time +
 * repeatEverySeconds (escalate() sets it from the moment it acted, which is at most that event's
 * time: a few ms of lateness may go unseen). The first step not fired counts up to the
 * acknowledgement or resolution when it was due before it.
 */
export async function measureSteps(sql: Sql, policy: PolicyTimes, o: { down?: Span[]; end?: number } = {}): Promise<StepTiming[]> {
  const runEnd = o.end ?? Date.now();
  const incidents = await sql<{ id: string; opened_ms: number; closed_ms: number | null }[]>`
    SELECT id, (extract(epoch FROM opened_at) * 1000)::float8 AS opened_ms,
           (extract(epoch FROM least(acknowledged_at, resolved_at)) * 1000)::float8 AS closed_ms FROM incidents`;
  const events = await sql<{ incident_id: string; step: number; round: number; at_ms: number }[]>`
    SELECT incident_id, (data ->> 'step')::int AS step, (data ->> 'round')::int AS round, (extract(epoch FROM at) * 1000)::float8 AS at_ms
    FROM incident_events WHERE type = 'escalation.step' ORDER BY incident_id, seq`;
  const evOf = new Map<string, Map<string, number>>();
  for (const e of events) {
    const m = evOf.get(e.incident_id) ?? new Map<string, number>();
    if (!m.has(`${e.step}/${e.round}`)) m.set(`${e.step}/${e.round}`, e.at_ms);
    evOf.set(e.incident_id, m);
  }
  const down = o.down ?? [];
  const upBetween = (from: number, to: number) => length(subtract({ from, to }, down));
  const n = policy.steps.length;
  const out: StepTiming[] = [];
  for (const inc of incidents) {
    const ev = evOf.get(inc.id) ?? new Map<string, number>();
    const stop = inc.closed_ms ?? runEnd;
    let prev: number | undefined;
    for (let k = 0; ; k++) {
      const [step, round] = k < n ? [k, 0] : [n - 1, k - n + 1];
      const due = k < n ? inc.opened_ms + policy.steps[k].afterSeconds * 1000 : prev! + policy.repeatEverySeconds * 1000;
      const at = ev.get(`${step}/${round}`) ?? null;
      if (at === null) {
        // Not fired: late if it was due before the incident stopped needing it (counted up to then).
        if (due < stop) out.push({ incidentId: inc.id, step, round, due, at: null, lateMs: upBetween(due, stop), downMs: stop - due - upBetween(due, stop) });
        break;
      }
      out.push({ incidentId: inc.id, step, round, due, at, lateMs: at > due ? upBetween(due, at) : 0, downMs: at > due ? at - due - upBetween(due, at) : 0 });
      prev = at;
    }
  }
  return out;
}

export function stepCheck(steps: StepTiming[], budgetMs: number): Check {
  const fired = steps.filter((s) => s.at !== null);
  const xs = fired.map((s) => s.lateMs);
  const bad = steps.filter((s) => s.lateMs > budgetMs).sort((a, b) => b.lateMs - a.lateMs);
  const afterDown = fired.filter((s) => s.downMs > 0);
  const story = (s: StepTiming) => `incident ${s.incidentId} step ${s.step} round ${s.round}: due ${new Date(s.due).toISOString()}, ` +
    (s.at === null ? `never fired before the incident was acknowledged/resolved, ${ms(s.lateMs)} of Mayday's up-time after due` :
      `fired ${ms(s.at - s.due)} after due${s.downMs ? ` (${ms(s.downMs)} of it Mayday down)` : ''}: late ${ms(s.lateMs)}`);
  const worst = [...steps].sort((a, b) => b.lateMs - a.lateMs)[0];
  return check(`every escalation step fires within ${budgetMs / 1000} s of due (of ready, when Mayday was down at due)`, bad.length === 0 && fired.length > 0,
    `${fired.length} steps fired (${afterDown.length} with Mayday down between due and firing), ${steps.length - fired.length} due and not fired before an ack/resolve; ` +
      `late p50 ${ms(pct(xs, 50))}, p99 ${ms(pct(xs, 99))}, max ${ms(Math.max(...xs))}; ${bad.length} over ${ms(budgetMs)} (${bad.filter((s) => s.downMs > 0).length} of them across a restart)` +
      `${worst ? `; worst: ${story(worst)}` : ''}`,
    bad.map(story));
}

/**
 * Per SOS, from its first press (`startedAt`) to the first SMS page to `phone` (the on-call)
 * the stand-in accepted; an incident acknowledged before any such SMS counts to its acknowledgement.
 */
export async function firstSmsCheck(sql: Sql, requests: StandinRequest[], flows: { incidentId?: string; startedAt?: number }[], phone: string, budgetMs: number): Promise<Check> {
  const pages = await sql<{ id: string; incident_id: string; reported_ms: number | null }[]>`
    SELECT id, incident_id, (extract(epoch FROM least(sent_at, delivered_at)) * 1000)::float8 AS reported_ms
    FROM pages WHERE phone = ${phone} AND channel = 'sms' AND purpose = ANY(${PAGING}::text[])`;
  const incOf = new Map(pages.map((p) => [p.id, p.incident_id]));
  const first = new Map<string, number>();
  // A hung SMS Twilio took counts from the status callback that told Mayday so.
  for (const p of pages) if (p.reported_ms !== null) first.set(p.incident_id, Math.min(first.get(p.incident_id) ?? Infinity, p.reported_ms));
  for (const r of requests) {
    const inc = r.pageId && r.outcome === 'accepted' && r.kind === 'sms' ? incOf.get(r.pageId) : undefined;
    if (inc) first.set(inc, Math.min(first.get(inc) ?? Infinity, acceptedAt(r)));
  }
  const acks = await sql<{ id: string; ack_ms: number | null }[]>`SELECT id, (extract(epoch FROM acknowledged_at) * 1000)::float8 AS ack_ms FROM incidents`;
  const ackOf = new Map(acks.map((a) => [a.id, a.ack_ms]));
  const xs: number[] = [];
  const bad: string[] = [];
  let byAck = 0;
  for (const f of flows) {
    if (!f.incidentId || f.startedAt === undefined) continue;
    const sms = first.get(f.incidentId) ?? Infinity;
    const ack = ackOf.get(f.incidentId) ?? Infinity;
    const reached = Math.min(sms, ack);
    if (ack < sms) byAck++;
    const d = reached - f.startedAt;
    xs.push(d);
    if (!(d <= budgetMs)) bad.push(`incident ${f.incidentId}: ${Number.isFinite(d) ? `first SMS to the on-call accepted ${ms(d)} after the press` : 'no SMS to the on-call ever accepted, not acknowledged'}`);
  }
  bad.sort((a, b) => Number(/(\d+) ms/.exec(b)?.[1] ?? Infinity) - Number(/(\d+) ms/.exec(a)?.[1] ?? Infinity));
  return check(`every SOS reaches the on-call by SMS within ${budgetMs / 1000} s of the press (an SMS accepted by Twilio)`, bad.length === 0 && xs.length > 0,
    `${xs.length} SOS: press → first SMS to the on-call accepted p50 ${ms(pct(xs, 50))}, p99 ${ms(pct(xs, 99))}, max ${ms(Math.max(...xs))}` +
      `${byAck ? ` (${byAck} acknowledged by the on-call before any SMS was accepted: counted to the acknowledgement)` : ''}; ${bad.length} over ${ms(budgetMs)}`, bad);
}
