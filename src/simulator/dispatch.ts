/**
 * The built-in dispatch center: it stands in for Noonlight when NOONLIGHT_SERVER_TOKEN is unset,
 * as the phone simulator stands in for Twilio. It takes alarms (refusing one without a location,
 * as Noonlight does), their new locations and cancels with the alarm's PIN, and plays what a
 * dispatcher does from the console or /v1/simulator/dispatch: "911 contacted", "closed",
 * "canceled by the person", and "refused" (the named incident's next alarm is refused). Its alarms live in memory:
 * after a restart an alarm it no longer knows is cancelled without a PIN check.
 */
import type { AlarmRequest, AlarmStatus, CenterResult, Coordinates, DispatchCenter, Services } from '../dispatch/center';
import type { DispatchEvent } from '../dispatch/webhook';

export type SimulatedDispatchAction = 'psap_contacted' | 'closed' | 'canceled';

const CENTER_TYPE: Record<SimulatedDispatchAction, string> = {
  psap_contacted: 'alarm.psap_contacted',
  closed: 'alarm.closed',
  canceled: 'alarm.status.canceled',
};

export interface SimulatedAlarm {
  id: string;
  status: AlarmStatus;
  services: Services;
  /** The creation's fix first, then every one added. */
  locations: Coordinates[];
  instructions: string;
  createdAt: string;
}

export class DispatchSimulator implements DispatchCenter {
  readonly kind = 'simulator' as const;
  private readonly alarms = new Map<string, SimulatedAlarm & { pin: string }>();
  /** Incidents whose next alarm is to be refused. */
  private readonly refusals = new Set<string>();
  private emit?: (events: DispatchEvent[]) => Promise<unknown>;

  /** Where the played events go: the same handler as Noonlight's webhook (wired in src/entry/). */
  bind(o: { events: (events: DispatchEvent[]) => Promise<unknown> }) {
    this.emit = o.events;
  }

  /** The incident's next alarm is refused, as Noonlight refuses a bad one (400); other incidents' are not. */
  refuseNext(incidentId: string) {
    this.refusals.add(incidentId);
  }

  alarm(id: string): SimulatedAlarm | undefined {
    const a = this.alarms.get(id);
    if (!a) return undefined;
    const { pin: _pin, ...shown } = a;
    return { ...shown, locations: [...a.locations] };
  }

  async createAlarm(req: AlarmRequest): Promise<CenterResult<{ alarmId: string; status: AlarmStatus; services: Services }>> {
    if (req.incidentId !== undefined && this.refusals.delete(req.incidentId)) {
      return { ok: false, kind: 'refused', status: 400, message: 'refused by the simulated dispatch center', attempts: 1, ambiguous: false };
    }
    if (!req.location) return { ok: false, kind: 'refused', message: 'no location to send', attempts: 0, ambiguous: false };
    const id = `sim_${crypto.randomUUID().replace(/-/g, '').slice(0, 20)}`;
    this.alarms.set(id, { id, pin: req.pin, status: 'ACTIVE', services: { ...req.services }, locations: [req.location], instructions: req.instructions, createdAt: new Date().toISOString() });
    return { ok: true, attempts: 1, ambiguous: false, alarmId: id, status: 'ACTIVE', services: { ...req.services } };
  }

  async addLocation(alarmId: string, at: Coordinates): Promise<CenterResult<object>> {
    const a = this.alarms.get(alarmId);
    if (a && a.status !== 'ACTIVE') return { ok: false, kind: 'refused', status: 400, message: 'the alarm is not active', attempts: 1, ambiguous: false };
    a?.locations.push({ ...at });
    return { ok: true, attempts: 1, ambiguous: false };
  }

  async cancelAlarm(alarmId: string, pin: string): Promise<CenterResult<{ status: AlarmStatus }>> {
    const a = this.alarms.get(alarmId);
    if (a && a.pin !== pin) return { ok: false, kind: 'refused', status: 403, message: 'wrong alarm PIN', attempts: 1, ambiguous: false };
    if (a) a.status = 'CANCELED';
    return { ok: true, attempts: 1, ambiguous: false, status: 'CANCELED' };
  }

  /** The dispatcher does something with the alarm; it arrives as Noonlight's webhook would. */
  async play(alarmId: string, action: SimulatedDispatchAction): Promise<void> {
    const a = this.alarms.get(alarmId);
    if (a && action === 'closed') a.status = 'CLOSED';
    if (a && action === 'canceled') a.status = 'CANCELED';
    await this.emit?.([{ eventId: `sim_evt_${crypto.randomUUID()}`, type: action, noonlightType: CENTER_TYPE[action], at: new Date().toISOString(), alarmId }]);
  }
}
