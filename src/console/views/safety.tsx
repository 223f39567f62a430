/** The safety team's pages: the response-time report (table and chart), exports, verification. */
import { KIND } from '../format';
import { Notice } from './layout';

export interface Percentiles { count: number; p50: number | null; p90: number | null; p99: number | null }
export interface Measures {
  incidents: number;
  firstPageSent: Percentiles;
  firstDelivery: Percentiles;
  acknowledgement: Percentiles;
  resolution: Percentiles;
  dispatchRequested: Percentiles;
  psapContacted: Percentiles;
  breachCount: number;
}
export interface Report {
  from: string;
  to: string;
  targetSeconds: number;
  overall: Measures;
  groups: (Measures & { zoneId: string | null; zoneName: string | null; kind: string; breaches: { incidentId: string; code: number; ackSeconds: number | null }[] })[];
}

/** The range as the form shows it: `to` is the last day included. */
export interface DayRange { from: string; to: string }

export const FORMATS = [
  { id: 'ndjson', label: 'NDJSON', what: 'one line per incident with its timeline and trail' },
  { id: 'csv', label: 'CSV', what: 'one row per timeline event, for a spreadsheet' },
  { id: 'geojson', label: 'GeoJSON', what: 'opening points and trails, for a GIS' },
  { id: 'eido', label: 'EIDO', what: 'NENA EIDO-style JSON for a public-safety answering point' },
] as const;

/** "850 ms", "42 s", "3.5 min", "2.1 h", or "—" when there is nothing to measure. */
export function secs(s: number | null): string {
  if (s === null) return '—';
  if (s === 0) return '0 s';
  if (s < 1) return `${Math.round(s * 1000)} ms`;
  if (s < 120) return `${s < 10 ? s.toFixed(1) : Math.round(s)} s`;
  if (s < 7200) return `${(s / 60).toFixed(1)} min`;
  return `${(s / 3600).toFixed(1)} h`;
}

const q = (r: DayRange, extra: Record<string, string> = {}) => new URLSearchParams({ from: r.from, to: r.to, ...extra }).toString();

export function RangeForm({ range, target, action = '/console/safety' }: { range: DayRange; target?: number; action?: string }) {
  return (
    <form method="get" action={action} class="actions" aria-label="Date range">
      <div>
        <label for="from">From (UTC date)</label>
        <input id="from" name="from" type="date" value={range.from} required />
      </div>
      <div>
        <label for="to">To (UTC date, included)</label>
        <input id="to" name="to" type="date" value={range.to} required />
      </div>
      {target !== undefined && (
        <div>
          <label for="target">Target to acknowledge (seconds)</label>
          <input id="target" name="target" type="text" class="narrow" inputmode="numeric" pattern="[0-9]{1,5}" value={String(target)} />
        </div>
      )}
      <button type="submit">Show</button>
    </form>
  );
}

const MEASURE_ROWS = [
  ['firstPageSent', 'First page sent'],
  ['firstDelivery', 'First page delivered'],
  ['acknowledgement', 'Acknowledged'],
  ['resolution', 'Resolved'],
  ['dispatchRequested', 'Emergency dispatch requested'],
  ['psapContacted', '911 centre contacted by the dispatcher'],
] as const;

function OverallTable({ m }: { m: Measures }) {
  return (
    <table>
      <caption class="vh">Seconds from the SOS, all incidents in the range</caption>
      <thead>
        <tr><th scope="col">From the SOS to…</th><th scope="col" class="num">Incidents</th><th scope="col" class="num">Median (p50)</th><th scope="col" class="num">p90</th><th scope="col" class="num">p99</th></tr>
      </thead>
      <tbody>
        {MEASURE_ROWS.map(([k, label]) => (
          <tr>
            <th scope="row">{label}</th>
            <td class="num">{m[k].count}</td>
            <td class="num">{secs(m[k].p50)}</td>
            <td class="num">{secs(m[k].p90)}</td>
            <td class="num">{secs(m[k].p99)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function GroupsTable({ r }: { r: Report }) {
  return (
    <table class="cards">
      <caption class="vh">By zone and kind</caption>
      <thead>
        <tr>
          <th scope="col">Zone · kind</th><th scope="col" class="num">Incidents</th><th scope="col" class="num">First page p50</th>
          <th scope="col" class="num">Ack p50</th><th scope="col" class="num">Ack p90</th><th scope="col" class="num">Resolved p50</th>
          <th scope="col" class="num">Dispatch p50</th><th scope="col" class="num">911 contacted p50</th>
          <th scope="col" class="num">Over target</th>
        </tr>
      </thead>
      <tbody>
        {r.groups.map((g) => (
          <tr>
            <td class="lead" data-label="Zone · kind"><strong>{g.zoneName ?? 'No zone'}</strong> · {KIND[g.kind] ?? g.kind}</td>
            <td class="num" data-label="Incidents">{g.incidents}</td>
            <td class="num" data-label="First page p50">{secs(g.firstPageSent.p50)}</td>
            <td class="num" data-label="Ack p50">{secs(g.acknowledgement.p50)}</td>
            <td class="num" data-label="Ack p90">{secs(g.acknowledgement.p90)}</td>
            <td class="num" data-label="Resolved p50">{secs(g.resolution.p50)}</td>
            <td class="num" data-label="Dispatch p50">{secs(g.dispatchRequested.p50)}</td>
            <td class="num" data-label="911 contacted p50">{secs(g.psapContacted.p50)}</td>
            <td class="num" data-label="Over target">
              {g.breachCount === 0 ? '0' : (
                <>
                  <strong>{g.breachCount}</strong>{' '}
                  {g.breaches.slice(0, 5).map((b) => <> <a href={`/console/incidents/${b.incidentId}`}>#{b.code}</a></>)}
                  {g.breaches.length > 5 && ' …'}
                </>
              )}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** Tick marks at a round step: about four to six of them from 0 to at least `max` seconds. */
export function ticks(max: number): number[] {
  const steps = [0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 14_400, 28_800, 86_400];
  const step = steps.find((s) => max / s <= 5) ?? steps[steps.length - 1];
  const out: number[] = [];
  for (let t = 0; t <= max + step / 2 && out.length < 12; t += step) out.push(t);
  if (out[out.length - 1] < max) out.push(out[out.length - 1] + step);
  return out;
}

/**
 * Time to acknowledge per zone and kind: a solid bar to the median, an outlined one to p90, the
 * target as a dashed line; every bar is labelled with its numbers, so nothing depends on colour.
 */
export function AckChart({ r }: { r: Report }) {
  const groups = r.groups;
  if (groups.length === 0) return <p class="empty">No incidents in this range to chart.</p>;
  const W = 640;
  const left = 12;
  const right = 24;
  const rowH = 50;
  const top = 34;
  const H = top + groups.length * rowH + 30;
  const ts = ticks(Math.max(r.targetSeconds * 1.15, ...groups.map((g) => g.acknowledgement.p90 ?? g.acknowledgement.p50 ?? 0), 1));
  const max = ts[ts.length - 1];
  const x = (s: number) => left + (Math.min(s, max) / max) * (W - left - right);
  const tx = x(r.targetSeconds);
  return (
    <figure>
      <svg class="plot chart" viewBox={`0 0 ${W} ${H}`} role="img" aria-labelledby="ack-title ack-desc" xmlns="http://www.w3.org/2000/svg">
        <title id="ack-title">Time from the SOS to acknowledgement, by zone and kind</title>
        <desc id="ack-desc">
          {groups.map((g) => `${g.zoneName ?? 'No zone'} ${g.kind}: ${g.acknowledgement.count ? `median ${secs(g.acknowledgement.p50)}, p90 ${secs(g.acknowledgement.p90)}` : 'none acknowledged'}`).join('; ') +
            `. Target ${secs(r.targetSeconds)}.`}
        </desc>
        <rect x="0" y="0" width={W} height={H} fill="#fff" />
        <g font-family="system-ui, sans-serif" font-size="15" fill="#111">
          {ts.map((t) => (
            <>
              <line x1={x(t)} y1={top - 4} x2={x(t)} y2={H - 26} stroke="#d0d0d0" stroke-width="1" />
              <text x={x(t)} y={H - 8} text-anchor={t === 0 ? 'start' : t === max ? 'end' : 'middle'} font-size="13">{secs(t)}</text>
            </>
          ))}
          {groups.map((g, i) => {
            const y = top + i * rowH;
            const { p50, p90, count } = g.acknowledgement;
            const label = `${g.zoneName ?? 'No zone'} · ${KIND[g.kind] ?? g.kind}`;
            const value = count === 0 ? 'not acknowledged' : `${secs(p50)} / ${secs(p90)}`;
            const end = x(p90 ?? p50 ?? 0);
            return (
              <>
                <text x={left} y={y + 12} font-weight="600">{label}</text>
                {p90 !== null && <rect x={left} y={y + 18} width={Math.max(2, end - left)} height="18" fill="#fff" stroke="#111" stroke-width="1.5" />}
                {p50 !== null && <rect x={left} y={y + 18} width={Math.max(2, x(p50) - left)} height="18" fill="#0a4ea3" />}
                <text x={end + 6 > W - 150 ? end - 6 : end + 6} y={y + 32} text-anchor={end + 6 > W - 150 ? 'end' : 'start'} font-size="14">
                  {value}{g.breachCount ? ` · ${g.breachCount} over target` : ''}
                </text>
              </>
            );
          })}
          <line x1={tx} y1={top - 14} x2={tx} y2={H - 26} stroke="#a10f0f" stroke-width="2.5" stroke-dasharray="7 4" />
          <text x={tx + (tx > W - 120 ? -4 : 4)} y={top - 18} text-anchor={tx > W - 120 ? 'end' : 'start'} fill="#a10f0f" font-weight="700" font-size="14">target {secs(r.targetSeconds)}</text>
        </g>
      </svg>
      <figcaption>Solid bar: median (p50); outlined bar: p90; dashed line: the target. Labels read “median / p90”.</figcaption>
    </figure>
  );
}

export function SafetyPage({ range, report, unavailable }: { range: DayRange; report?: Report; unavailable?: string }) {
  return (
    <>
      <h1>Safety team</h1>
      <RangeForm range={range} target={report?.targetSeconds ?? 60} />
      {unavailable && <Notice kind="bad">{unavailable}</Notice>}
      {report && (
        <>
          <section aria-labelledby="rt-h">
            <h2 id="rt-h">Response times ({report.overall.incidents} incident{report.overall.incidents === 1 ? '' : 's'} opened)</h2>
            {report.overall.incidents === 0 ? (
              <p class="empty">No incidents were opened in this range.</p>
            ) : (
              <>
                <OverallTable m={report.overall} />
                <p>
                  <strong>{report.overall.breachCount}</strong> incident{report.overall.breachCount === 1 ? '' : 's'} took longer than the target ({secs(report.targetSeconds)}) to be acknowledged, or never were.
                </p>
                <h3>Time to acknowledge</h3>
                <AckChart r={report} />
                <h3>By zone and kind</h3>
                <GroupsTable r={report} />
              </>
            )}
          </section>
        </>
      )}
      <section aria-labelledby="exp-h">
        <h2 id="exp-h">Export</h2>
        <p>The incidents opened in this range, each with its whole timeline and hash chain. Every export is recorded in the audit log.</p>
        <ul>
          {FORMATS.map((f) => (
            <li>
              <a href={`/console/export?${q(range, { format: f.id })}`} download>Download {f.label}</a> — {f.what}
            </li>
          ))}
        </ul>
      </section>
      <section aria-labelledby="ver-h">
        <h2 id="ver-h">Verify timelines</h2>
        <p>Recompute every hash and link of every timeline opened in this range, in the database.</p>
        <form method="get" action="/console/safety/verify">
          <input type="hidden" name="from" value={range.from} />
          <input type="hidden" name="to" value={range.to} />
          <button type="submit" class="primary">Verify {range.from} to {range.to}</button>
        </form>
      </section>
    </>
  );
}

export interface Verification { valid: boolean; checked: number; broken: string[]; problems: { incidentId: string; problem: string; locationId?: number }[] }

export function VerifyPage({ range, v, codes }: { range: DayRange; v: Verification; codes: Map<string, number> }) {
  return (
    <>
      <p><a href={`/console/safety?${q(range)}`}>← Safety team</a></p>
      <h1>Timeline verification</h1>
      <RangeForm range={range} action="/console/safety/verify" />
      <p>
        <span class={`verdict ${v.valid ? 'valid' : 'broken'}`} role="status">
          {v.valid ? `✓ VALID — all ${v.checked} timeline${v.checked === 1 ? '' : 's'} verified` : `✗ BROKEN — ${v.broken.length} of ${v.checked} timelines do not verify`}
        </span>
      </p>
      <p class="muted">Incidents opened from {range.from} to {range.to} (UTC, both days included).</p>
      {!v.valid && (
        <table>
          <caption>Broken timelines</caption>
          <thead><tr><th scope="col">Incident</th><th scope="col">What does not verify</th></tr></thead>
          <tbody>
            {v.problems.map((p) => (
              <tr>
                <td><a href={`/console/incidents/${p.incidentId}`}>{codes.has(p.incidentId) ? `#${codes.get(p.incidentId)}` : p.incidentId}</a></td>
                <td>{p.problem === 'chain' ? 'the hash chain (an event altered, removed or reordered)' : `a trail position (#${p.locationId}) no longer matches its digest`}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </>
  );
}
