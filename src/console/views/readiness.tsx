import type { ZoneReadiness } from '../../readiness/store';

/** "08:02 UTC", with the date when it is not today (UTC): readiness times read the same everywhere. */
function utc(iso: string, now: number): string {
  const day = iso.slice(0, 10);
  const time = `${iso.slice(11, 16)} UTC`;
  return day === new Date(now).toISOString().slice(0, 10) ? time : `${day} ${time}`;
}

/** One zone's readiness in words: confirmed, waiting for an OK, or missed (the safety leads were paged). */
function State({ z, now }: { z: ZoneReadiness; now: number }) {
  const who = z.responderName ?? 'the on-call responder';
  const until = z.shiftEnd ? `, on call until ${utc(z.shiftEnd, now)}` : '';
  switch (z.state) {
    case 'confirmed':
      return <span><strong>Confirmed</strong>: {who} replied OK at {utc(z.confirmedAt!, now)}{until}.</span>;
    case 'missed':
      return (
        <span class="status-open">
          <strong>MISSED</strong>: {who} has not confirmed; the safety leads were paged at {utc(z.missedAt!, now)}.
        </span>
      );
    case 'waiting':
      return z.askedAt
        ? <span><strong>Waiting</strong>: {who} was asked at {utc(z.askedAt, now)} and has not replied OK yet{until}.</span>
        : <span><strong>Waiting</strong>: the check to {who} is being sent.</span>;
    default:
      return <span class="muted">Not checked: no shift has begun since readiness checks started.</span>;
  }
}

/** Every zone's on-call readiness for the shift under way, on the board. */
export function ReadinessSection({ zones, now }: { zones: ZoneReadiness[]; now: number }) {
  if (zones.length === 0) return null;
  return (
    <section aria-labelledby="readiness-h">
      <h2 id="readiness-h">On-call readiness</h2>
      <p class="hint">At each shift’s start the responder coming on call is asked to reply OK; without it the safety leads are paged after the zone’s grace.</p>
      <table class="cards">
        <caption class="vh">Whether each zone’s on-call responder confirmed their shift</caption>
        <thead>
          <tr>
            <th scope="col">Zone</th>
            <th scope="col">Readiness</th>
          </tr>
        </thead>
        <tbody>
          {zones.map((z) => (
            <tr>
              <td class="lead" data-label="Zone">{z.zoneName}</td>
              <td data-label="Readiness"><State z={z} now={now} /></td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}
