import type { DispatchView } from '../../dispatch/store';
import type { Incident } from '../../incidents/schemas';
import type { ZoneReadiness } from '../../readiness/store';
import { checkInWords, KIND, SEVERITY, STATUS } from '../format';
import type { IncidentFacts } from '../store';
import { DispatchState } from './dispatch';
import { Csrf, Notice, Since, type PageContext } from './layout';
import { ReadinessSection } from './readiness';

export interface BoardRow {
  incident: Incident;
  facts: IncidentFacts;
  /** The incident's newest emergency dispatch. */
  dispatch?: DispatchView;
}

export const Severity = ({ s }: { s: Incident['severity'] }) => (
  <span class={`sev sev-${s}`}>
    <span aria-hidden="true">{SEVERITY[s].icon}</span> {SEVERITY[s].label}
  </span>
);

export const Duress = () => <span class="duress">⚠ DURESS</span>;

export const StatusText = ({ incident }: { incident: Incident }) => <span class={`status-${incident.status}`}>{STATUS[incident.status]}</span>;

function CheckIn({ facts, now }: { facts: IncidentFacts; now: number }) {
  if (!facts.lastCheckIn) return <span class="muted">none yet</span>;
  const help = facts.lastCheckIn.status === 'need_help';
  if (facts.lastCheckIn.status === 'missed') return <strong>MISSED, {checkInWords(facts.lastCheckIn).replace('missed ', '')}</strong>;
  return (
    <span>
      <strong>{help ? 'NEEDS HELP' : facts.lastCheckIn.status === 'safe' ? 'Safe' : facts.lastCheckIn.status}</strong>,{' '}
      <Since at={facts.lastCheckIn.at} now={now} /> ago
    </span>
  );
}

/** The table of active incidents (also served alone as the live fragment). */
export function BoardTable({ rows, now }: { rows: BoardRow[]; now: number }) {
  if (rows.length === 0) return <p class="empty">No active incidents. New SOS reports appear here by themselves.</p>;
  return (
    <table class="cards">
      <caption class="vh">Active incidents, most severe and newest first</caption>
      <thead>
        <tr>
          <th scope="col">Incident</th>
          <th scope="col">Severity</th>
          <th scope="col">Zone</th>
          <th scope="col">Driver</th>
          <th scope="col">Age</th>
          <th scope="col">Status</th>
          <th scope="col">Acknowledged by</th>
          <th scope="col">Last check-in</th>
          <th scope="col">Location age</th>
          <th scope="col">Dispatch</th>
        </tr>
      </thead>
      <tbody>
        {rows.map(({ incident: i, facts: f, dispatch }) => (
          <tr>
            <td class="lead" data-label="Incident">
              <a href={`/console/incidents/${i.id}`} data-key={`inc-${i.id}`}>
                <strong>#{i.code} {KIND[i.kind] ?? i.kind}</strong>
              </a>
              {f.duressAt && <> <Duress /></>}
            </td>
            <td data-label="Severity"><Severity s={i.severity} /></td>
            <td data-label="Zone">{f.zoneName ?? <span class="muted">no zone</span>}</td>
            <td data-label="Driver">{f.driverName}</td>
            <td data-label="Age"><Since at={i.openedAt} now={now} /></td>
            <td data-label="Status"><StatusText incident={i} /></td>
            <td data-label="Acknowledged by">{f.acknowledgedByName ?? (i.acknowledgedAt ? 'someone' : <span class="muted">nobody yet</span>)}</td>
            <td data-label="Last check-in"><CheckIn facts={f} now={now} /></td>
            <td data-label="Location age">{i.location ? <Since at={i.location.capturedAt} now={now} /> : <span class="muted">no fix</span>}</td>
            <td data-label="Dispatch"><DispatchState d={dispatch} short /></td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** What the live fragment redraws: the incidents, then every zone's on-call readiness. */
export function BoardLive({ rows, now, readiness }: { rows: BoardRow[]; now: number; readiness: ZoneReadiness[] }) {
  return (
    <>
      <BoardTable rows={rows} now={now} />
      <ReadinessSection zones={readiness} now={now} />
    </>
  );
}

const NOTICES: Record<string, string> = {
  demo: 'Dana’s SOS was sent. It is on the board; the on-call supervisor’s simulated phone is ringing.',
  'signed-in': 'Signed in.',
};

export function BoardPage({ ctx, rows, now, demo, notice, readiness = [] }: { ctx: PageContext; rows: BoardRow[]; now: number; demo?: { name: string }; notice?: string; readiness?: ZoneReadiness[] }) {
  return (
    <>
      <h1>Active incidents</h1>
      {notice && NOTICES[notice] && <Notice kind="good">{NOTICES[notice]}</Notice>}
      <p id="live" class="live" data-state="off" aria-live="polite">Updates when something changes.</p>
      <div id="board" data-live="/console/board">
        <BoardLive rows={rows} now={now} readiness={readiness} />
      </div>
      {demo && (
        <section aria-labelledby="demo-h">
          <h2 id="demo-h">Demo</h2>
          <form method="post" action="/console/demo/sos">
            <Csrf ctx={ctx} />
            <p class="hint">Sends a real SOS (robbery, inside the demo zone) from the demo driver {demo.name}, through the same intake as the app. Then open the phone simulator.</p>
            <button type="submit" class="danger">Simulate an SOS from {demo.name}</button>
          </form>
        </section>
      )}
    </>
  );
}
