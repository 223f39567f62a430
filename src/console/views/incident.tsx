import type { DispatchView } from '../../dispatch/store';
import type { Incident } from '../../incidents/schemas';
import { DISPOSITIONS } from '../../incidents/schemas';
import type { PageView } from '../../paging/store';
import type { TimelineEvent } from '../../timeline/schemas';
import type { Polygon } from '../../zones/schemas';
import { checkInWords, DISPOSITION, KIND, ROLE, STATUS, utc, utcTime } from '../format';
import type { Fix, IncidentFacts } from '../store';
import { Duress, Severity } from './board';
import { DispatchForm, DispatchSimulatorButtons, DispatchState } from './dispatch';
import { Csrf, Notice, Since, type PageContext } from './layout';
import { Timeline } from './timeline';
import { TrailPlot } from './trail';

export interface IncidentData {
  incident: Incident;
  facts: IncidentFacts;
  events: TimelineEvent[];
  pages: PageView[];
  fixes: Fix[];
  boundary: Polygon | null;
  verify: { valid: boolean; eventCount: number; headHash: string | null };
  names: Map<string, string>;
  /** The newest emergency dispatch, whether the viewer may request one, and whether the viewer plays the simulated dispatcher. */
  dispatch?: DispatchView;
  canDispatch?: boolean;
  dispatchSimulator?: boolean;
}

const PAGE_STATUS: Record<string, string> = {
  queued: 'Queued',
  sending: 'Sending',
  sent: 'Sent',
  delivered: 'Delivered',
  failed: 'Failed',
  voicemail: 'Voicemail',
  unknown: 'Unknown',
  canceled: 'Not sent (acknowledged)',
};

/** The newest check-in outcome: the last answer, or a check-in missed after it (read from the timeline). */
function newestCheckIn(d: IncidentData): { at: string; status: string } | null {
  const answered = d.facts.lastCheckIn;
  const missed = d.events.findLast((e) => e.type === 'checkin.missed');
  return missed && (!answered || Date.parse(missed.at) > Date.parse(answered.at)) ? { at: missed.at, status: 'missed' } : answered;
}

function Facts({ d, now }: { d: IncidentData; now: number }) {
  const { incident: i, facts: f } = d;
  const checkIn = newestCheckIn(d);
  return (
    <dl class="facts">
      <dt>Status</dt>
      <dd class={`status-${i.status}`}>{STATUS[i.status]}</dd>
      <dt>Severity</dt>
      <dd><Severity s={i.severity} /></dd>
      <dt>Driver</dt>
      <dd>{f.driverName}</dd>
      <dt>Zone</dt>
      <dd>{f.zoneName ?? 'none'}{i.zoneRule !== 'inside' && <span class="muted"> (rule: {i.zoneRule})</span>}</dd>
      <dt>Opened</dt>
      <dd>{utc(i.openedAt)} (<Since at={i.openedAt} now={now} /> ago)</dd>
      <dt>Acknowledged</dt>
      <dd>{i.acknowledgedAt ? <>by {f.acknowledgedByName ?? 'someone'} at {utcTime(i.acknowledgedAt)}</> : 'not yet'}</dd>
      <dt>Last check-in</dt>
      <dd>
        {!checkIn ? 'none yet'
          : checkIn.status === 'missed' ? <><strong>{checkInWords(checkIn)}</strong> (<Since at={checkIn.at} now={now} /> ago){f.lastCheckIn && f.lastCheckIn.status !== 'missed' && <>; the last answer before: {f.lastCheckIn.status === 'need_help' ? 'NEEDS HELP' : f.lastCheckIn.status}</>}</>
          : <>{checkIn.status === 'need_help' ? <strong>NEEDS HELP</strong> : checkInWords(checkIn)}, <Since at={checkIn.at} now={now} /> ago</>}
        {i.checkInDueAt && <> · one awaited by {utcTime(i.checkInDueAt)}</>}
      </dd>
      <dt>Location</dt>
      <dd>
        {i.location ? (
          <>
            {i.location.lat.toFixed(5)}, {i.location.lng.toFixed(5)}
            {i.location.accuracyM !== null && <> ±{Math.round(i.location.accuracyM)} m</>}, <Since at={i.location.capturedAt} now={now} /> old
          </>
        ) : 'none'}
      </dd>
      {i.note && (<><dt>Driver’s note</dt><dd>{i.note}</dd></>)}
      {i.status === 'resolved' && (
        <>
          <dt>Resolution</dt>
          <dd>
            {DISPOSITION[i.disposition ?? ''] ?? i.disposition}{f.resolvedByName && <> by {f.resolvedByName}</>}
            {i.resolvedAt && <> at {utcTime(i.resolvedAt)}</>}
            {f.resolutionNote && <> — “{f.resolutionNote}”</>}
          </dd>
        </>
      )}
    </dl>
  );
}

function Pages({ pages }: { pages: PageView[] }) {
  if (pages.length === 0) return <p class="empty">No pages yet.</p>;
  return (
    <table class="cards">
      <caption class="vh">Pages and their delivery state, oldest first</caption>
      <thead>
        <tr>
          <th scope="col">To</th><th scope="col">Channel</th><th scope="col">Why</th><th scope="col">Step · attempt</th>
          <th scope="col">State</th><th scope="col">Sent</th><th scope="col">Delivered</th>
        </tr>
      </thead>
      <tbody>
        {pages.map((p) => (
          <tr>
            <td class="lead" data-label="To"><strong>{p.recipientName}</strong></td>
            <td data-label="Channel">{p.channel === 'voice' ? 'Call' : 'SMS'}</td>
            <td data-label="Why">{p.purpose}</td>
            <td data-label="Step · attempt">{p.step + 1} · {p.attempt}</td>
            <td data-label="State">
              <strong>{PAGE_STATUS[p.status] ?? p.status}</strong>
              {p.twilioStatus && p.twilioStatus !== p.status && <span class="muted"> ({p.twilioStatus}{p.answeredBy ? `, ${p.answeredBy}` : ''})</span>}
              {p.error && <span class="muted"> — {p.error}</span>}
            </td>
            <td data-label="Sent">{p.sentAt ? utcTime(p.sentAt) : '—'}</td>
            <td data-label="Delivered">{p.deliveredAt ? utcTime(p.deliveredAt) : '—'}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** Everything that changes while the page is open: reloaded as a fragment on each change. */
export function IncidentLive({ ctx, d, now, canAct }: { ctx: PageContext; d: IncidentData; now: number; canAct: boolean }) {
  const i = d.incident;
  return (
    <>
      {d.facts.duressAt && (
        <p class="duress-banner" role="alert">
          ⚠ DURESS — the driver entered the duress PIN at {utcTime(d.facts.duressAt)}. The driver’s app shows the incident as cancelled; it is not.
          Treat as critical. Do not call or text the driver about it.
        </p>
      )}
      {canAct && i.status === 'open' && (
        <form method="post" action={`/console/incidents/${i.id}/ack`} class="actions">
          <Csrf ctx={ctx} />
          <button type="submit" class="primary" data-key="ack">Acknowledge: I have it</button>
          <span class="hint">Stops every further page of this incident.</span>
        </form>
      )}
      <section aria-labelledby="dispatch-h">
        <h2 id="dispatch-h">Emergency dispatch</h2>
        <p data-key="dispatch-state"><DispatchState d={d.dispatch} /></p>
        {d.canDispatch && i.status !== 'resolved' && <DispatchForm ctx={ctx} incidentId={i.id} d={d.dispatch} />}
        {d.dispatchSimulator && i.status !== 'resolved' && <DispatchSimulatorButtons ctx={ctx} incidentId={i.id} d={d.dispatch} />}
      </section>
      <div class="grid2">
        <section aria-labelledby="facts-h">
          <h2 id="facts-h">Now</h2>
          <Facts d={d} now={now} />
        </section>
        <section aria-labelledby="trail-h">
          <h2 id="trail-h">Location trail</h2>
          <TrailPlot fixes={d.fixes} boundary={d.boundary} zoneName={d.facts.zoneName} />
        </section>
      </div>
      <section aria-labelledby="pages-h">
        <h2 id="pages-h">Pages ({d.pages.length})</h2>
        <Pages pages={d.pages} />
      </section>
      <section aria-labelledby="tl-h">
        <h2 id="tl-h">Timeline ({d.events.length} events)</h2>
        <p>
          <span class={`verdict ${d.verify.valid ? 'valid' : 'broken'}`} role="status">
            {d.verify.valid ? '✓ Chain valid' : '✗ Chain BROKEN'}
          </span>{' '}
          <span class="muted">
            {d.verify.valid
              ? `every one of ${d.verify.eventCount} hashes and links recomputed in the database`
              : 'an event was altered, removed or reordered behind Mayday’s back'}
          </span>
        </p>
        <Timeline events={d.events} openedAt={i.openedAt} names={d.names} />
      </section>
    </>
  );
}

const NOTICES: Record<string, [string, 'good' | undefined]> = {
  acknowledged: ['Acknowledged: the incident is yours. Further pages stopped.', 'good'],
  resolved: ['Resolved.', 'good'],
  'dispatch-requested': ['Emergency services requested: the dispatcher is calling the driver.', 'good'],
  'dispatch-already': ['Emergency services were already requested for this incident; nothing changed.', undefined],
  'dispatch-failed': ['DISPATCH FAILED: call 911 yourself. The safety leads were paged.', undefined],
  'dispatch-psap_contacted': ['Simulated: the dispatcher contacted 911.', undefined],
  'dispatch-closed': ['Simulated: the dispatcher closed the alarm.', undefined],
  'dispatch-canceled': ['Simulated: the driver cancelled with the dispatcher.', undefined],
  'dispatch-refused': ['Simulated: the next dispatch request for this incident will be refused.', undefined],
};

export function IncidentPage({ ctx, d, now, canAct, notice }: { ctx: PageContext; d: IncidentData; now: number; canAct: boolean; notice?: string }) {
  const i = d.incident;
  const n = notice ? NOTICES[notice] : undefined;
  const role = ctx.viewer?.principal.role ?? '';
  return (
    <>
      <p><a href="/console">← Board</a></p>
      <h1>
        #{i.code} {KIND[i.kind] ?? i.kind} <Severity s={i.severity} /> {d.facts.duressAt && <Duress />}
      </h1>
      {n && <Notice kind={n[1]}>{n[0]}</Notice>}
      <p id="live" class="live" data-state="off" aria-live="polite">Updates when something changes.</p>
      <div data-live={`/console/incidents/${i.id}/live`}>
        <IncidentLive ctx={ctx} d={d} now={now} canAct={canAct} />
      </div>
      {canAct && i.status !== 'resolved' && (
        <section aria-labelledby="resolve-h">
          <h2 id="resolve-h">Resolve</h2>
          <form method="post" action={`/console/incidents/${i.id}/resolve`}>
            <Csrf ctx={ctx} />
            <label for="disposition">Disposition</label>
            <select id="disposition" name="disposition" required>
              <option value="">Choose one…</option>
              {DISPOSITIONS.map((x) => <option value={x}>{DISPOSITION[x]}</option>)}
            </select>
            <label for="note">Note <span class="muted">(optional)</span></label>
            <textarea id="note" name="note" maxlength={4000}></textarea>
            <p><button type="submit">Resolve incident</button></p>
          </form>
        </section>
      )}
      {!canAct && i.status !== 'resolved' && (
        <p class="hint">As {ROLE[role] ?? role} you can read this incident; supervisors and safety leads acknowledge and resolve.</p>
      )}
    </>
  );
}
