export const ROLES = ['admin', 'driver', 'supervisor', 'safety_lead', 'auditor', 'agent'] as const;
export type Role = (typeof ROLES)[number];
export const RESPONDER_ROLES = ['supervisor', 'safety_lead'] as const;
export type ResponderRole = (typeof RESPONDER_ROLES)[number];

/** Whoever holds the token of a request. The administrator has no row: its id is "admin". */
export interface Principal {
  id: string;
  role: Role;
  name: string;
}

/** How a principal is named in timeline events: "driver:<id>", "supervisor:<id>", "admin", "system". */
export const actorOf = (p: Principal) => (p.role === 'admin' ? 'admin' : `${p.role}:${p.id}`);
