import { randomUUID } from 'node:crypto';
import { expect } from 'vitest';
import { ADMIN_TOKEN, type TestApp } from './app';

/** A square zone around (lat, lng), `half` degrees each way, as GeoJSON ([lng, lat]). */
export function square(lat: number, lng: number, half = 0.05) {
  return {
    type: 'Polygon' as const,
    coordinates: [[[lng - half, lat - half], [lng + half, lat - half], [lng + half, lat + half], [lng - half, lat + half], [lng - half, lat - half]]],
  };
}

let phoneSeq = 100;
export const nextPhone = () => `+1555${String(Date.now() % 1000).padStart(3, '0')}${String(phoneSeq++).padStart(4, '0')}`;

export interface Person { id: string; token: string; phone: string; name: string }

/** Builders that go through the real admin API, so every test world is made the way an operator makes one. */
export function world(t: TestApp) {
  const admin = ADMIN_TOKEN;
  const ok = <T>(res: { status: number; body: T }, status: number): T => {
    expect(res.status, JSON.stringify(res.body)).toBe(status);
    return res.body;
  };
  return {
    admin,
    async zone(name = 'Zone', boundary = square(36.37, -94.2), extra: Record<string, unknown> = {}) {
      return ok(await t.post('/v1/zones', { name, boundary, ...extra }, admin), 201) as { id: string; name: string };
    },
    async fallbackZone(name = 'Fallback') {
      return ok(await t.post('/v1/zones', { name, fallback: true }, admin), 201) as { id: string };
    },
    async responder(role: 'supervisor' | 'safety_lead', zoneIds: string[], name: string = role): Promise<Person> {
      return ok(await t.post('/v1/responders', { name, phone: nextPhone(), role, zoneIds }, admin), 201) as Person;
    },
    async driver(name = 'Driver', pins = { cancelPin: '1234', duressPin: '9999' }): Promise<Person> {
      return ok(await t.post('/v1/drivers', { name, phone: nextPhone(), ...pins }, admin), 201) as Person;
    },
    async auditor(name = 'Auditor') {
      return ok(await t.post('/v1/auditors', { name }, admin), 201) as { id: string; token: string };
    },
    async agent(tier: 1 | 2 | 3 = 1, name = 'Agent') {
      return ok(await t.post('/v1/agents', { name, tier }, admin), 201) as { id: string; token: string };
    },
    /** Puts `responderIds` on call in turn, `shiftMinutes` each (default 600) from `startsAt` (default: a minute ago). */
    async rotation(zoneId: string, responderIds: string[], opts: { shiftMinutes?: number; startsAt?: string } = {}) {
      const startsAt = opts.startsAt ?? new Date(Date.now() - 60_000).toISOString();
      return ok(await t.put(`/v1/zones/${zoneId}/rotation`, { responderIds, shiftMinutes: opts.shiftMinutes ?? 600, startsAt }, admin), 200);
    },
    sos(driver: { token: string }, over: Record<string, unknown> = {}) {
      return t.post('/v1/sos', { clientRequestId: randomUUID(), kind: 'robbery', location: { lat: 36.37, lng: -94.2, accuracyM: 10 }, ...over }, driver.token);
    },
  };
}
