import { createRoute, z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { actorOf } from '../../auth/principal';
import { IncidentEnvelope, IncidentSchema, ListIncidentsQuery, LocationInput, SosBody } from '../../incidents/schemas';
import { locationChanged } from '../../dispatch/service';
import { openSos, type SosInput } from '../../incidents/service';
import { addLocation, getIncidentFor, lastKnownFix, listIncidentsFor } from '../../incidents/store';
import { AppError } from '../../errors';
import type { AppEnv } from '../context';
import { allow, deferredTokenError, principal, setPrincipal } from '../middleware';
import { bearer, body, conflictError, errors, IdParam, json, notFoundError, router } from '../openapi';

const app = router();

app.openapi(
  createRoute({
    operationId: 'pressSos', method: 'post', path: '/v1/sos', tags: ['driver'], security: bearer, request: body(SosBody),
    summary: 'Press SOS',
    description: 'Stores the report, geo-tags it to a zone and answers at once. Without a location it opens at the driver’s last known fix. Retries with the same clientRequestId answer 200 with the same incident. Never refused for rate.',
    responses: {
      201: json(IncidentEnvelope, 'A new incident'),
      200: json(IncidentEnvelope, 'A retry of a press already taken: the same incident'),
      ...errors,
    },
    middleware: [allow('driver')] as const,
  }),
  async (c) => {
    const b = c.req.valid('json');
    const deps = c.get('deps');
    // Its first pages are claimed in the same round trip and go out at once (see openSos); a
    // token not yet known is judged in that round trip too.
    const { incident, created } = await sosOf(c, { ...b, location: b.location ?? (await lastFixOfCaller(c)), source: 'app' });
    deps.metrics?.sosAccepted(created, 'app');
    c.get('log').info({ incidentId: incident.id, code: incident.code, kind: incident.kind, created }, created ? 'sos opened' : 'sos retry coalesced');
    return c.json({ incident }, created ? 201 : 200);
  },
);

/**
 * Where an SOS sent without a location opens: the caller's last known fix, as for an SOS by text
 * message, or none. The caller must be known for that, so a token not yet judged is looked up first.
 */
async function lastFixOfCaller(c: Context<AppEnv>) {
  const refused = await deferredTokenError(c);
  if (refused) throw refused;
  c.set('deferredToken', undefined);
  return lastKnownFix(c.get('deps').sql, principal(c).id);
}

/** The SOS of the caller: a known principal (openSos), or a token judged in the SOS's own call. */
async function sosOf(c: Context<AppEnv>, input: SosInput) {
  const deps = c.get('deps');
  const deferred = c.get('deferredToken');
  if (!deferred || c.get('principal')) return openSos(deps, principal(c), input);
  const { user, opened } = await openSos(deps, { tokenHash: deferred.hash }, input);
  c.set('deferredToken', undefined); // judged: onError need not look it up again
  if (!user) throw new AppError('unauthorized', 'unknown or revoked token');
  deps.auth.remember(deferred.hash, user, deferred.epoch);
  setPrincipal(c, user);
  if (!opened) throw new AppError('forbidden', `not allowed for role ${user.role}`);
  return opened;
}

app.openapi(
  createRoute({
    operationId: 'addLocation', method: 'post', path: '/v1/incidents/{id}/locations', tags: ['driver'], security: bearer,
    request: { params: IdParam, ...body(LocationInput) },
    summary: 'Add a location fix to the trail',
    responses: {
      202: json(z.object({ accepted: z.literal(true), current: z.boolean().openapi({ description: 'false: older than the latest fix, kept in the trail only' }) }), 'Stored'),
      ...errors, ...notFoundError, ...conflictError('The incident is resolved'),
    },
    middleware: [allow('driver')] as const,
  }),
  async (c) => {
    const driver = principal(c);
    const { id } = c.req.valid('param');
    const loc = c.req.valid('json');
    const deps = c.get('deps');
    await getIncidentFor(deps.sql, driver, id);
    const r = await addLocation(deps.sql, id, { lat: loc.lat, lng: loc.lng, accuracyM: loc.accuracyM ?? null, capturedAt: loc.capturedAt ?? null }, actorOf(driver));
    if (r === 'resolved') throw new AppError('already_resolved', 'the incident is resolved');
    // A live alarm gets the new fix in the background: this answer does not wait for the center.
    if (r.current) locationChanged(deps, id);
    return c.json({ accepted: true as const, current: r.current }, 202);
  },
);

app.openapi(
  createRoute({
    operationId: 'listIncidents', method: 'get', path: '/v1/incidents', tags: ['responder'], security: bearer, request: { query: ListIncidentsQuery },
    summary: 'List incidents visible to the caller',
    description: 'A driver sees its own, a supervisor its zones’, a safety lead, auditor or admin every one. Newest first.',
    responses: { 200: json(z.object({ incidents: z.array(IncidentSchema) }), 'Incidents'), ...errors },
    middleware: [allow('admin', 'driver', 'supervisor', 'safety_lead', 'auditor')] as const,
  }),
  async (c) => {
    const p = principal(c);
    return c.json({ incidents: await listIncidentsFor(c.get('deps').sql, p, c.req.valid('query')) }, 200);
  },
);

app.openapi(
  createRoute({
    operationId: 'getIncident', method: 'get', path: '/v1/incidents/{id}', summary: 'Read an incident visible to the caller', tags: ['responder'], security: bearer, request: { params: IdParam },
    responses: { 200: json(IncidentEnvelope, 'The incident'), ...errors, ...notFoundError },
    middleware: [allow('admin', 'driver', 'supervisor', 'safety_lead', 'auditor')] as const,
  }),
  async (c) => {
    const p = principal(c);
    return c.json({ incident: await getIncidentFor(c.get('deps').sql, p, c.req.valid('param').id) }, 200);
  },
);

export default app;
