import { randomUUID } from 'node:crypto';
import type { Role } from '../../src/auth/principal';
import { nextPhone, square } from './world';

/**
 * Who may call what: one row per endpoint (path × method), written out by hand from
 * ../shared/contract.md (and, for the project's additions, from docs/api.md and the routes), so
 * that a change of who may call an endpoint is a deliberate change of this table.
 * test/access.test.ts asserts that the table covers every path × method of /openapi.json, so
 * a new endpoint without a row fails the suite; test/fuzz.test.ts uses the allowed roles to
 * fuzz each endpoint with a token that gets past the role check.
 */
export interface AccessRow {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** As written in the OpenAPI document: `{id}`, `{phone}`, `{sid}`. */
  path: string;
  roles: readonly Role[];
  /** A minimal valid body, where one is cheap to make (else the route gets `{}`). */
  body?: () => unknown;
  /** contract: the endpoint is in ../shared/contract.md; addition: the project's own. */
  source: 'contract' | 'addition';
  /** Present in the contract but not (yet) served: the row is checked only once it is. */
  optional?: boolean;
}

export const ALL_ROLES: readonly Role[] = ['admin', 'driver', 'supervisor', 'safety_lead', 'auditor', 'agent'];

const READ_INCIDENTS: Role[] = ['admin', 'driver', 'supervisor', 'safety_lead', 'auditor'];
const RESPONDERS: Role[] = ['supervisor', 'safety_lead'];
const SAFETY_TEAM: Role[] = ['auditor', 'safety_lead', 'admin'];
const location = { lat: 36.37, lng: -94.2, accuracyM: 10 };

export const ACCESS_TABLE: readonly AccessRow[] = [
  // Admin: configuration (contract, "Roles and tokens").
  { method: 'POST', path: '/v1/zones', roles: ['admin'], source: 'contract', body: () => ({ name: `Z ${randomUUID()}`, boundary: square(10, 10, 0.01) }) },
  { method: 'POST', path: '/v1/responders', roles: ['admin'], source: 'contract', body: () => ({ name: 'R', phone: nextPhone(), role: 'supervisor', zoneIds: [] }) },
  { method: 'POST', path: '/v1/drivers', roles: ['admin'], source: 'contract', body: () => ({ name: 'D', phone: nextPhone(), cancelPin: '1234', duressPin: '9999' }) },
  { method: 'POST', path: '/v1/auditors', roles: ['admin'], source: 'contract', body: () => ({ name: 'A' }) },
  { method: 'POST', path: '/v1/agents', roles: ['admin'], source: 'contract', body: () => ({ name: 'G', tier: 1 }) },
  { method: 'PUT', path: '/v1/zones/{id}/rotation', roles: ['admin'], source: 'contract', body: () => ({ responderIds: [randomUUID()], shiftMinutes: 60, startsAt: new Date().toISOString() }) },
  { method: 'POST', path: '/v1/zones/{id}/overrides', roles: ['admin'], source: 'contract', body: () => ({ responderId: randomUUID(), from: new Date().toISOString(), to: new Date(Date.now() + 3600_000).toISOString() }) },
  { method: 'GET', path: '/v1/zones/{id}/oncall', roles: ['admin', 'supervisor', 'safety_lead'], source: 'contract' },
  { method: 'PUT', path: '/v1/zones/{id}/escalation-policy', roles: ['admin'], source: 'contract', body: () => ({ steps: [{ afterSeconds: 0, notify: ['oncall'], channels: ['sms'] }] }) },
  // Additions: reading zones (docs/api.md: configuration is read by those who work the zones, and auditors).
  { method: 'GET', path: '/v1/zones', roles: ['admin', 'supervisor', 'safety_lead', 'auditor'], source: 'addition' },
  { method: 'GET', path: '/v1/zones/{id}', roles: ['admin', 'supervisor', 'safety_lead', 'auditor'], source: 'addition' },
  // Tokens (addition): only the admin issues and revokes.
  { method: 'POST', path: '/v1/users/{id}/tokens', roles: ['admin'], source: 'addition' },
  { method: 'DELETE', path: '/v1/users/{id}/tokens', roles: ['admin'], source: 'addition' },

  // Driver.
  { method: 'POST', path: '/v1/sos', roles: ['driver'], source: 'contract', body: () => ({ clientRequestId: randomUUID(), kind: 'other', location }) },
  { method: 'POST', path: '/v1/incidents/{id}/locations', roles: ['driver'], source: 'contract', body: () => location },
  { method: 'POST', path: '/v1/incidents/{id}/check-ins', roles: ['driver'], source: 'contract', body: () => ({ status: 'safe' }) },
  { method: 'POST', path: '/v1/incidents/{id}/cancel', roles: ['driver'], source: 'contract', body: () => ({ pin: '0000' }) },

  // Reading incidents: drivers their own, supervisors their zones', safety leads, auditors and the admin every one.
  { method: 'GET', path: '/v1/incidents', roles: READ_INCIDENTS, source: 'contract' },
  { method: 'GET', path: '/v1/incidents/{id}', roles: READ_INCIDENTS, source: 'contract' },
  // Responders act on incidents; nobody else does (the admin reads, an auditor only reads).
  { method: 'POST', path: '/v1/incidents/{id}/ack', roles: RESPONDERS, source: 'contract' },
  // Emergency dispatch (contract v1.1): responders (the zone's supervisors, the acknowledger, safety leads) and the admin; its state also to auditors (addition).
  { method: 'POST', path: '/v1/incidents/{id}/dispatch', roles: ['supervisor', 'safety_lead', 'admin'], source: 'contract', body: () => ({ services: ['police'] }) },
  { method: 'GET', path: '/v1/incidents/{id}/dispatch', roles: ['supervisor', 'safety_lead', 'auditor', 'admin'], source: 'addition' },
  { method: 'POST', path: '/v1/incidents/{id}/resolve', roles: RESPONDERS, source: 'contract', body: () => ({ disposition: 'false_alarm' }) },
  // Addition: delivery state of the pages, for those who may read the incident (not the driver).
  { method: 'GET', path: '/v1/incidents/{id}/pages', roles: ['supervisor', 'safety_lead', 'auditor', 'admin'], source: 'addition' },

  // Safety team: auditor; safety_lead and admin may read too. The project also lets a supervisor
  // read the timelines of the incidents it may see (src/http/routes/timeline.ts, since the foundation).
  { method: 'GET', path: '/v1/incidents/{id}/timeline', roles: [...SAFETY_TEAM, 'supervisor'], source: 'contract' },
  { method: 'GET', path: '/v1/incidents/{id}/timeline/verify', roles: [...SAFETY_TEAM, 'supervisor'], source: 'contract' },
  { method: 'GET', path: '/v1/audit/export', roles: SAFETY_TEAM, source: 'contract' },
  { method: 'GET', path: '/v1/audit/verify', roles: SAFETY_TEAM, source: 'contract' },
  { method: 'GET', path: '/v1/reports/response-times', roles: SAFETY_TEAM, source: 'contract' },
  // Addition (issue 20): the readiness report per zone and week, read like the other reports.
  { method: 'GET', path: '/v1/reports/readiness', roles: SAFETY_TEAM, source: 'addition' },
  // Additions of the audit work: the audit log is read like the rest; a legal hold is the auditor's (and the admin's) only change.
  { method: 'GET', path: '/v1/audit/log', roles: SAFETY_TEAM, source: 'addition' },
  { method: 'GET', path: '/v1/audit/keys', roles: SAFETY_TEAM, source: 'addition' },
  { method: 'POST', path: '/v1/incidents/{id}/legal-hold', roles: ['auditor', 'admin'], source: 'addition', body: () => ({ reason: 'subpoena' }) },
  { method: 'DELETE', path: '/v1/incidents/{id}/legal-hold', roles: ['auditor', 'admin'], source: 'addition' },

  // The ordinary support lane.
  { method: 'POST', path: '/v1/support-requests', roles: ['driver'], source: 'contract', body: () => ({ category: 'payment', text: 'my payout is late' }) },
  { method: 'POST', path: '/v1/support-requests/claim', roles: ['agent'], source: 'contract' },
  { method: 'PATCH', path: '/v1/support-requests/{id}', roles: ['agent'], source: 'contract', body: () => ({ status: 'resolved' }) },
  { method: 'POST', path: '/v1/support-requests/{id}/escalate', roles: ['agent'], source: 'contract', body: () => ({ note: 'sounded scared' }) },
  { method: 'GET', path: '/v1/support-requests/{id}', roles: ['driver', 'agent', 'admin'], source: 'addition' },

  // The phone simulator (addition): the admin only.
  { method: 'GET', path: '/v1/simulator/phones', roles: ['admin'], source: 'addition' },
  { method: 'GET', path: '/v1/simulator/phones/{phone}/messages', roles: ['admin'], source: 'addition' },
  { method: 'POST', path: '/v1/simulator/phones/{phone}/sms', roles: ['admin'], source: 'addition', body: () => ({ body: 'hello' }) },
  { method: 'POST', path: '/v1/simulator/calls/{sid}/digits', roles: ['admin'], source: 'addition', body: () => ({ digits: '2' }) },
  { method: 'POST', path: '/v1/simulator/calls/{sid}/hangup', roles: ['admin'], source: 'addition' },
  // The dispatch-center simulator (addition): the admin only.
  { method: 'POST', path: '/v1/simulator/dispatch/incidents/{id}', roles: ['admin'], source: 'addition', body: () => ({ action: 'refused' }) },

  // The driver app (contract v1.1, and the project's additions for it). Enrollment codes and the
  // devices they gave are the admin's and the safety leads' (src/http/routes/app.ts); the code is
  // its own credential, so POST /v1/app/enroll takes no token (and judges none sent along).
  { method: 'POST', path: '/v1/drivers/{id}/enrollments', roles: ['admin', 'safety_lead'], source: 'contract' },
  { method: 'POST', path: '/v1/app/enroll', roles: [], source: 'contract' },
  { method: 'GET', path: '/v1/drivers/{id}/devices', roles: ['admin', 'safety_lead'], source: 'addition' },
  { method: 'DELETE', path: '/v1/drivers/{id}/devices/{deviceId}', roles: ['admin', 'safety_lead'], source: 'addition' },
  // Only a device token is the app's to sign out: the table's driver token (the admin's issue) gets 409 and stays valid.
  { method: 'POST', path: '/v1/app/sign-out', roles: ['driver'], source: 'addition' },
  { method: 'GET', path: '/v1/app/me', roles: ['driver'], source: 'addition' },
  { method: 'PATCH', path: '/v1/app/me', roles: ['driver'], source: 'addition', body: () => ({ language: 'en' }) },
  { method: 'GET', path: '/v1/app/incidents/{id}', roles: ['driver'], source: 'addition' },
  { method: 'POST', path: '/v1/incidents/{id}/details', roles: ['driver'], source: 'addition', body: () => ({ kind: 'other', note: 'details' }) },

  // Open to everyone.
  { method: 'GET', path: '/healthz', roles: [], source: 'contract' },
  { method: 'GET', path: '/readyz', roles: [], source: 'contract' },
];

/** Rows with no roles are public: no token needed, any token accepted. */
export const isPublic = (row: AccessRow) => row.roles.length === 0;

/** A concrete path for a row: `{id}` → `id`, `{phone}` → an E.164 number, `{sid}` → a call SID, `{deviceId}` → a uuid. */
export function fill(path: string, values: { id?: string; phone?: string; sid?: string } = {}) {
  return path
    .replace('{id}', values.id ?? randomUUID())
    .replace('{deviceId}', randomUUID())
    .replace('{phone}', encodeURIComponent(values.phone ?? '+15550100001'))
    .replace('{sid}', values.sid ?? `CA${'0'.repeat(31)}f`);
}

/** A row's query string, where the route needs one to be valid. */
export function queryFor(path: string): string {
  if (path === '/v1/audit/export') return `?from=${new Date(Date.now() - 86_400_000).toISOString()}&to=${new Date().toISOString()}&format=ndjson`;
  if (path === '/v1/audit/verify' || path === '/v1/reports/response-times' || path === '/v1/reports/readiness' || path === '/v1/audit/log') return `?from=${new Date(Date.now() - 86_400_000).toISOString()}&to=${new Date().toISOString()}`;
  return '';
}
