import type { Sql } from '../db/client';
import type { Polygon } from '../zones/schemas';
import { createZone, setRotation } from '../zones/store';
import { createDriver, createResponder } from '../users/store';
import { countZonesAndUsers } from './store';

export const DEMO = {
  zone: 'Bentonville (demo)',
  // Around downtown Bentonville, Arkansas; [lng, lat] as GeoJSON wants.
  boundary: {
    type: 'Polygon' as const,
    coordinates: [[[-94.25, 36.33], [-94.15, 36.33], [-94.15, 36.4], [-94.25, 36.4], [-94.25, 36.33]]],
  } as Polygon,
  supervisors: [
    { name: 'Ava Ortiz', phone: '+15550100001' },
    { name: 'Ben Okafor', phone: '+15550100002' },
  ],
  // Sam is paged in Spanish (SMS and voice), to show languages; the supervisors and Dana in English.
  safetyLead: { name: 'Sam Reyes', phone: '+15550100003', language: 'es' as const },
  driver: { name: 'Dana Kim', phone: '+15550100010', cancelPin: '1234', duressPin: '9999' },
  /** Inside the zone: for the README's curl examples. */
  here: { lat: 36.3729, lng: -94.2088 },
};

export interface DemoTokens {
  zoneId: string;
  tokens: { role: string; name: string; phone: string; id: string; token: string }[];
}

/** Seed the demo into an empty database; returns undefined when anything is there already. */
export async function seedDemo(sql: Sql, now = new Date()): Promise<DemoTokens | undefined> {
  if ((await countZonesAndUsers(sql)) > 0) return undefined;
  const zone = await createZone(sql, { name: DEMO.zone, boundary: DEMO.boundary });
  const sups = [];
  for (const s of DEMO.supervisors) sups.push(await createResponder(sql, { ...s, role: 'supervisor', zoneIds: [zone.id] }));
  const lead = await createResponder(sql, { ...DEMO.safetyLead, role: 'safety_lead', zoneIds: [zone.id] });
  const driver = await createDriver(sql, DEMO.driver);
  const midnight = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate()));
  await setRotation(sql, zone.id, { responderIds: sups.map((s) => s.id), shiftMinutes: 8 * 60, startsAt: midnight.toISOString() });
  return {
    zoneId: zone.id,
    tokens: [
      ...sups.map((s) => ({ role: 'supervisor', name: s.name, phone: s.phone, id: s.id, token: s.token })),
      { role: 'safety_lead', name: lead.name, phone: lead.phone, id: lead.id, token: lead.token },
      { role: 'driver', name: driver.name, phone: driver.phone, id: driver.id, token: driver.token },
    ],
  };
}
