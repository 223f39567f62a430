/**
 * The dispatch-center port that dispatch owns: what Mayday needs from a service that puts a
 * certified dispatcher, and through them the 911 centre, on an incident. Noonlight
 * (./noonlight.ts) implements it; a built-in simulator will stand in without credentials, as the
 * phone simulator does for Twilio (src/paging/telephony.ts).
 */

export interface Coordinates {
  lat: number;
  lng: number;
  /** Metres. */
  accuracy: number;
}

export interface Services {
  police: boolean;
  fire: boolean;
  medical: boolean;
}

export interface AlarmRequest {
  /** The driver's name and phone (E.164): the dispatcher texts and calls them first. */
  name: string;
  phone: string;
  /** The alarm's own PIN, which Mayday generates and keeps: a cancel must give it. */
  pin: string;
  /** The newest fix, or null when there is none (the center then refuses: a human must act). */
  location: Coordinates | null;
  services: Services;
  /** What the incident is, for the dispatcher (kind, code, the note). */
  instructions: string;
  /** Mayday's incident id: never sent to Noonlight; the simulator refuses per incident by it. */
  incidentId?: string;
}

/**
 * What one call to the center came to.
 *
 * - `ok`: done. `ambiguous` says that an earlier attempt of this call may have taken effect too
 *   (it was reset or timed out after it was sent): for a creation, a second alarm may exist.
 * - `refused`: the center answered and said no (a 4xx other than 429: a bad location, a bad
 *   token, an unknown alarm). Sending it again will not help; a human must act.
 * - `unknown`: no definite answer: a timeout, a reset, a 5xx, or 429/503 still after the
 *   retries. `ambiguous` says whether it may have taken effect all the same (for a creation:
 *   whether an alarm may exist without Mayday knowing its id).
 *
 * Either failure is `dispatch.failed` for the caller, recorded and paged, never silence.
 */
export type CenterFailure =
  /** `status` is absent when Mayday refused it before sending (nothing to send: no location). */
  | { ok: false; kind: 'refused'; status?: number; message: string; attempts: number; ambiguous: boolean }
  | { ok: false; kind: 'unknown'; status?: number; code?: string; message: string; attempts: number; ambiguous: boolean };

export type CenterResult<T extends object> = ({ ok: true; attempts: number; ambiguous: boolean } & T) | CenterFailure;

/** An alarm's status at the center. */
export type AlarmStatus = 'ACTIVE' | 'CANCELED' | 'CLOSED';

export interface DispatchCenter {
  readonly kind: 'noonlight' | 'simulator';
  /**
   * `services` are those the center says the alarm has (what was asked when its answer does not
   * say): compare them with the request, since a service silently dropped is a dispatch gone wrong.
   */
  createAlarm(req: AlarmRequest): Promise<CenterResult<{ alarmId: string; status: AlarmStatus; services: Services }>>;
  /** A newer position of the person, added to the alarm's location history. */
  addLocation(alarmId: string, at: Coordinates): Promise<CenterResult<object>>;
  /** Cancel with the alarm's PIN (never the driver's own PINs). */
  cancelAlarm(alarmId: string, pin: string): Promise<CenterResult<{ status: AlarmStatus }>>;
}
