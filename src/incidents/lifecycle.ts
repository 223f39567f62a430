import type { Principal } from '../auth/principal';
import type { Deps } from '../deps';
import { AppError } from '../http/errors';
import { getIncidentFor } from './store';

/** Acknowledge through the API: a responder who can see the incident. 409 unless it is open. */
export async function acknowledge(deps: Deps, p: Principal, incidentId: string) {
  await getIncidentFor(deps.sql, p, incidentId);
  const [row] = await deps.sql<{ r: string }[]>`SELECT ack_incident(${incidentId}, ${p.id}, 'api', NULL) AS r`;
  if (row.r !== 'open') throw new AppError('conflict', `the incident is ${row.r}, not open`);
  return getIncidentFor(deps.sql, p, incidentId);
}

/** Resolve with a disposition. 409 when it is already resolved (the first of two racers wins). */
export async function resolve(deps: Deps, p: Principal, incidentId: string, r: { disposition: string; note?: string }) {
  await getIncidentFor(deps.sql, p, incidentId);
  const [row] = await deps.sql<{ r: string }[]>`
    SELECT resolve_incident(${incidentId}, ${p.id}, ${r.disposition}, ${r.note ?? null}) AS r`;
  if (row.r === 'resolved') throw new AppError('conflict', 'the incident is already resolved');
  return getIncidentFor(deps.sql, p, incidentId);
}
