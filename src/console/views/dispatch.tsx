import type { DispatchView } from '../../dispatch/store';
import { utcTime } from '../format';
import { Csrf, type PageContext } from './layout';

const SERVICE: Record<string, string> = { police: 'Police', fire: 'Fire', medical: 'Medical' };
export const servicesText = (s: readonly string[]) => s.map((x) => SERVICE[x] ?? x).join(', ');

/** A dispatch's state in words; a failure in red words that say what to do. */
export function DispatchState({ d, short = false }: { d: DispatchView | undefined; short?: boolean }) {
  if (!d) return <span class="muted">{short ? 'none' : 'not requested'}</span>;
  const what = servicesText(d.services);
  switch (d.status) {
    case 'requested':
      return <span class="dispatch-live">{what} requested at {utcTime(d.requestedAt)}; waiting for the dispatch center</span>;
    case 'active':
      return <span class="dispatch-live">{what} requested; the dispatcher is calling the driver{!short && d.createdAt && <> (alarm since {utcTime(d.createdAt)})</>}</span>;
    case 'psap_contacted':
      return <span class="dispatch-live"><strong>911 CONTACTED</strong>{d.psapContactedAt && <> at {utcTime(d.psapContactedAt)}</>} ({what})</span>;
    case 'closed':
      return <span>Closed by the dispatcher{d.closedAt && <> at {utcTime(d.closedAt)}</>}{!short && d.psapContactedAt && <> (911 contacted at {utcTime(d.psapContactedAt)})</>}</span>;
    case 'canceled':
      return <span>Cancelled{d.canceledAt && <> at {utcTime(d.canceledAt)}</>}</span>;
    case 'failed':
      return <strong class="dispatch-failed" role={short ? undefined : 'alert'}>DISPATCH FAILED — call 911 yourself{!short && <> ({what} asked at {utcTime(d.requestedAt)}; the safety leads were paged)</>}</strong>;
  }
}

const LIVE = new Set(['requested', 'active', 'psap_contacted']);

/** "Request police / fire / medical", for those who may ask, while no dispatch is live. */
export function DispatchForm({ ctx, incidentId, d }: { ctx: PageContext; incidentId: string; d: DispatchView | undefined }) {
  if (d && LIVE.has(d.status)) return null;
  return (
    <form method="post" action={`/console/incidents/${incidentId}/dispatch`} class="dispatch-form">
      <Csrf ctx={ctx} />
      <fieldset>
        <legend>Request police / fire / medical</legend>
        <label class="check"><input type="checkbox" name="police" value="on" checked /> Police</label>
        <label class="check"><input type="checkbox" name="fire" value="on" /> Fire</label>
        <label class="check"><input type="checkbox" name="medical" value="on" /> Medical</label>
        <label for="dispatch-note">Note for the dispatcher <span class="muted">(optional)</span></label>
        <input type="text" id="dispatch-note" name="note" maxlength={500} />
        <p class="hint">A certified dispatcher texts and calls the driver, then the 911 centre, with the driver’s newest location. Everything is on the timeline.</p>
        <p><button type="submit" class="danger" data-key="dispatch">Request emergency services</button></p>
      </fieldset>
    </form>
  );
}

const SIM_ACTIONS: [string, string][] = [
  ['psap_contacted', '911 contacted'],
  ['closed', 'Closed'],
  ['canceled', 'Canceled by the person'],
];

/** The dispatch-center simulator's buttons (admin, without Noonlight credentials). */
export function DispatchSimulatorButtons({ ctx, incidentId, d }: { ctx: PageContext; incidentId: string; d: DispatchView | undefined }) {
  const live = d && d.alarmId && (d.status === 'active' || d.status === 'psap_contacted');
  return (
    <div class="row">
      <span class="hint">Dispatch-center simulator:</span>
      {live
        ? SIM_ACTIONS.map(([action, label]) => (
            <form method="post" action={`/console/incidents/${incidentId}/dispatch/simulator`}>
              <Csrf ctx={ctx} />
              <input type="hidden" name="action" value={action} />
              <button type="submit" data-key={`sim-${action}`}>{label}</button>
            </form>
          ))
        : (
            <form method="post" action={`/console/incidents/${incidentId}/dispatch/simulator`}>
              <Csrf ctx={ctx} />
              <input type="hidden" name="action" value="refused" />
              <button type="submit" data-key="sim-refused">Refuse the next request</button>
            </form>
          )}
    </div>
  );
}
