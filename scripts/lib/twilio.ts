/**
 * The Twilio side of a run: made-up credentials, and control of the Twilio stand-in
 * (scripts/twilio-standin.ts), either in this process (the chaos scripts: its record read
 * directly) or as a child process read over its /_standin endpoints (bench:paging, so that its
 * work does not share this process's event loop).
 */
import { randomBytes } from 'node:crypto';
import { startStandin, type Standin, type StandinOptions, type StandinRequest } from '../twilio-standin';
import { freePort, startChild, type Child } from './processes';
import { now, onCleanup, sleep } from './run';

/** A made-up Twilio account: its SID, auth token and sending number. */
export interface Creds { sid: string; token: string; from: string }

export function twilioCreds(): Creds {
  return { sid: 'AC' + randomBytes(16).toString('hex'), token: randomBytes(20).toString('hex'), from: '+15550100000' };
}

export const basicAuth = (creds: Creds) => 'Basic ' + Buffer.from(`${creds.sid}:${creds.token}`).toString('base64');

/** The stand-in in this process, with an account of fresh credentials (closed at the end). */
export async function standinHere(o: Omit<StandinOptions, 'accountSid' | 'authToken'>): Promise<{ creds: Creds; standin: Standin }> {
  const creds = twilioCreds();
  const standin = await startStandin({ accountSid: creds.sid, authToken: creds.token, ...o });
  onCleanup('close the stand-in', () => standin.close());
  return { creds, standin };
}

/** The stand-in's counters as its GET /_standin/stats sends them (with the per-page counts). */
export type StandinStats = Omit<ReturnType<Standin['stats']>, 'pages'> & { pages: Record<string, number> };

/** The stand-in as a child process (`args`: its CLI flags; --port and --stdin-lifeline are added), seen through its HTTP endpoints. */
export class StandinChild {
  /** Every request it received, as far as pulled. */
  all: StandinRequest[] = [];
  private cursor = 0;
  private constructor(readonly child: Child) {}

  static async start(creds: Creds, args: string[]): Promise<StandinChild> {
    const port = await freePort();
    return new StandinChild(startChild('twilio-standin', 'scripts/twilio-standin.ts', port,
      { TWILIO_ACCOUNT_SID: creds.sid, TWILIO_AUTH_TOKEN: creds.token }, ['--port', String(port), ...args, '--stdin-lifeline']));
  }

  get url() {
    return this.child.base;
  }
  async stats(pages = true): Promise<StandinStats> {
    return (await (await fetch(`${this.url}/_standin/stats${pages ? '' : '?pages=false'}`, { signal: AbortSignal.timeout(30_000) })).json()) as StandinStats;
  }
  /** Until it has accepted `target` requests in all (polling its counters only: nothing here loads the database). */
  async waitAccepted(target: number, timeoutMs: number, alive: () => void): Promise<void> {
    const until = Date.now() + timeoutMs;
    while (Date.now() < until) {
      alive();
      if ((await this.stats(false)).accepted >= target) return;
      await sleep(100);
    }
  }
  /** Fetch the requests it received since the last pull. */
  async pull(): Promise<StandinRequest[]> {
    const r = (await (await fetch(`${this.url}/_standin/requests?since=${this.cursor}`, { signal: AbortSignal.timeout(30_000) })).json()) as { requests: StandinRequest[]; next: number };
    this.all.push(...r.requests);
    this.cursor = r.next;
    return r.requests;
  }
  /** Its clock minus ours, from the quickest of a few round trips (ms). */
  async clockOffset(): Promise<{ offset: number; rtt: number }> {
    let best = { offset: 0, rtt: Infinity };
    for (let i = 0; i < 15; i++) {
      const t0 = now();
      const s = await this.stats(false);
      const t1 = now();
      if (t1 - t0 < best.rtt) best = { offset: s.now - (t0 + t1) / 2, rtt: t1 - t0 };
    }
    return best;
  }
}
