/** The console's one stylesheet and one small script, inlined into every page (no build step). */

export const CSS = `
:root { --fg:#111; --bg:#fff; --muted:#4a4a4a; --line:#b8b8b8; --soft:#f2f2f2; --link:#0a4ea3; --focus:#1a56db;
  --crit:#a10f0f; --high:#a34a00; --ok:#0d6b2e; }
* { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; }
body { margin:0; font: 16px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; color:var(--fg); background:var(--bg); }
a { color:var(--link); }
a:focus-visible, button:focus-visible, input:focus-visible, select:focus-visible, textarea:focus-visible, summary:focus-visible {
  outline:3px solid var(--focus); outline-offset:2px; }
.skip { position:absolute; left:-999px; top:0; background:#fff; padding:.5rem; z-index:2; }
.skip:focus { left:.5rem; }
.vh { position:absolute; width:1px; height:1px; overflow:hidden; clip:rect(0 0 0 0); white-space:nowrap; }
header.top { background:#111; color:#fff; padding:.5rem 1rem; display:flex; flex-wrap:wrap; gap:.5rem 1.25rem; align-items:center; }
header.top a { color:#fff; }
header.top .brand { font-weight:800; font-size:1.15rem; text-decoration:none; letter-spacing:.02em; }
header.top nav ul { display:flex; flex-wrap:wrap; gap:.25rem 1rem; list-style:none; margin:0; padding:0; }
header.top nav a[aria-current=page] { font-weight:700; text-decoration-thickness:3px; }
header.top .who { margin-left:auto; display:flex; gap:.75rem; align-items:center; flex-wrap:wrap; font-size:.95rem; }
header.top .who button { background:#fff; color:#111; border-color:#fff; min-height:36px; padding:.25rem .75rem; }
main { padding:1rem; max-width:72rem; margin:0 auto; }
h1 { font-size:1.5rem; margin:.25rem 0 1rem; }
h2 { font-size:1.2rem; margin:1.5rem 0 .5rem; }
button, .button { font:inherit; font-weight:600; min-height:44px; padding:.5rem 1rem; border:2px solid #111; border-radius:6px;
  background:#fff; color:#111; cursor:pointer; text-decoration:none; display:inline-flex; align-items:center; gap:.4rem; }
button.primary, .button.primary { background:var(--link); border-color:var(--link); color:#fff; }
button.danger { background:var(--crit); border-color:var(--crit); color:#fff; }
label { display:block; font-weight:600; margin:.75rem 0 .25rem; }
input[type=text], input[type=password], input[type=datetime-local], input[type=date], select, textarea {
  font:inherit; width:100%; max-width:32rem; padding:.5rem; border:2px solid #555; border-radius:6px; background:#fff; color:#111; }
textarea { min-height:5rem; }
.hint { color:var(--muted); font-size:.9rem; margin:.25rem 0; }
.row { display:flex; flex-wrap:wrap; gap:.5rem; align-items:center; }
.notice { border-left:6px solid var(--link); background:#eef4fc; padding:.6rem .9rem; margin:0 0 1rem; }
.notice.bad { border-color:var(--crit); background:#fdeeee; }
.notice.good { border-color:var(--ok); background:#eaf6ee; }
.sev { display:inline-block; padding:.1rem .5rem; border-radius:4px; font-weight:700; white-space:nowrap; border:2px solid transparent; }
.sev-critical { background:var(--crit); color:#fff; }
.sev-high { background:var(--high); color:#fff; }
.sev-medium { background:#fff; color:#111; border-color:#555; }
.status-open { color:var(--crit); font-weight:700; }
.status-cancel_requested { font-weight:700; }
.dispatch-failed { color:var(--crit); font-weight:800; }
.dispatch-form fieldset { border:2px solid var(--line); border-radius:6px; max-width:32rem; }
.dispatch-form label.check { display:inline-flex; gap:.3rem; margin-right:1rem; font-weight:600; }
.duress { display:inline-block; background:#ffd400; color:#000; border:3px solid #000; font-weight:800; padding:.05rem .4rem; letter-spacing:.04em; }
.duress-banner { background:#ffd400; color:#000; border:4px solid #000; padding:.75rem 1rem; font-weight:700; font-size:1.1rem; margin:0 0 1rem; }
table { border-collapse:collapse; width:100%; }
th, td { text-align:left; padding:.5rem .6rem; border-bottom:1px solid var(--line); vertical-align:top; }
thead th { border-bottom:2px solid #111; font-size:.9rem; }
tbody tr:nth-child(even) { background:var(--soft); }
td.num, th.num { text-align:right; font-variant-numeric:tabular-nums; }
.muted { color:var(--muted); }
.empty { padding:1rem; border:2px dashed var(--line); }
.live { font-size:.9rem; color:var(--muted); }
.live[data-state=on]::before { content:"● "; color:var(--ok); }
.live[data-state=off]::before { content:"○ "; }
dl.facts { display:grid; grid-template-columns:max-content 1fr; gap:.3rem 1rem; margin:0; }
dl.facts dt { font-weight:600; }
dl.facts dd { margin:0; }
ol.timeline { list-style:none; margin:0; padding:0; }
ol.timeline li { display:grid; grid-template-columns:5.5rem 1fr; gap:.1rem .75rem; padding:.45rem 0; border-bottom:1px solid var(--line); }
ol.timeline .t { font-variant-numeric:tabular-nums; font-weight:700; }
ol.timeline .abs { display:block; font-weight:400; font-size:.8rem; color:var(--muted); }
ol.timeline .what { font-weight:600; }
ol.timeline li.key .what { font-weight:800; }
ol.timeline .type { font-family:ui-monospace, Menlo, Consolas, monospace; font-size:.8rem; color:var(--muted); }
.grid2 { display:grid; gap:1rem 2rem; grid-template-columns:1fr; }
@media (min-width: 900px) { .grid2 { grid-template-columns:1fr 1fr; } }
figure { margin:0; }
figcaption { font-size:.9rem; color:var(--muted); margin-top:.25rem; }
svg.plot { width:100%; max-width:36rem; height:auto; border:1px solid var(--line); background:#fff; }
.verdict { font-size:1.25rem; font-weight:800; padding:.6rem 1rem; border:3px solid; display:inline-block; }
.verdict.valid { color:var(--ok); border-color:var(--ok); }
.verdict.broken { color:var(--crit); border-color:var(--crit); }
.thread { list-style:none; padding:0; margin:0; display:flex; flex-direction:column; gap:.5rem; }
.thread li { max-width:85%; padding:.5rem .75rem; border-radius:10px; border:1px solid var(--line); background:var(--soft); }
.thread li.from { align-self:flex-end; background:#e3eefc; border-color:#9bb8e0; }
.thread .meta { font-size:.8rem; color:var(--muted); display:block; }
.thread .call { border:2px solid #111; background:#fff; }
.actions { display:flex; flex-wrap:wrap; gap:.75rem; align-items:flex-end; margin:.5rem 0 1rem; }
form.inline { display:inline-flex; gap:.5rem; align-items:center; }
input.narrow { width:7rem; }
svg.chart { max-width:48rem; }
.qr svg { display:block; width:100%; max-width:18rem; height:auto; border:1px solid var(--line); background:#fff; }
.applink .url { font-family:ui-monospace, Menlo, Consolas, monospace; font-size:.9rem; overflow-wrap:anywhere; }
[hidden] { display:none !important; }
@media (max-width: 700px) {
  main { padding:.75rem; }
  table.cards thead { position:absolute; width:1px; height:1px; overflow:hidden; clip:rect(0 0 0 0); }
  table.cards, table.cards tbody, table.cards tr, table.cards td { display:block; width:100%; }
  table.cards tr { border:2px solid #111; border-radius:8px; margin:0 0 .75rem; padding:.25rem .5rem; background:#fff !important; }
  table.cards td { display:flex; justify-content:space-between; gap:1rem; border-bottom:1px solid var(--line); padding:.4rem .1rem; text-align:right; }
  table.cards td:last-child { border-bottom:0; }
  table.cards td::before { content:attr(data-label); font-weight:600; text-align:left; }
  table.cards td.lead { display:block; text-align:left; font-size:1.05rem; }
  table.cards td.lead::before { content:none; }
}
`;

/**
 * Ages tick every second; regions marked `data-live="<url>"` reload their HTML from that URL
 * when the server says something changed (server-sent events), keeping keyboard focus.
 */
export const SCRIPT = `
(() => {
  const fmt = (ms) => {
    const s = Math.max(0, Math.floor(ms / 1000));
    if (s < 60) return s + ' s';
    const m = Math.floor(s / 60);
    if (m < 60) return m + ' min ' + String(s % 60).padStart(2, '0') + ' s';
    const h = Math.floor(m / 60);
    if (h < 48) return h + ' h ' + String(m % 60).padStart(2, '0') + ' min';
    return Math.floor(h / 24) + ' d ' + (h % 24) + ' h';
  };
  const tick = () => {
    const now = Date.now();
    for (const el of document.querySelectorAll('[data-since]')) el.textContent = fmt(now - Date.parse(el.dataset.since));
  };
  tick();
  setInterval(tick, 1000);
  // A button data-copy="<id>" copies that element's text (hidden until this script shows it).
  for (const b of document.querySelectorAll('button[data-copy]')) {
    const src = document.getElementById(b.dataset.copy);
    if (!src || !navigator.clipboard) continue;
    b.hidden = false;
    b.addEventListener('click', () => navigator.clipboard.writeText(src.textContent.trim())
      .then(() => { b.textContent = 'Copied'; }, () => { b.textContent = 'Not copied: select the link'; }));
  }
  const regions = document.querySelectorAll('[data-live]');
  const status = document.getElementById('live');
  if (!regions.length || !window.EventSource) return;
  const say = (state, text) => { if (status) { status.dataset.state = state; status.textContent = text; } };
  let timer, busy = false, again = false;
  const reload = async () => {
    if (busy) { again = true; return; }
    busy = true;
    try {
      for (const el of regions) {
        const res = await fetch(el.dataset.live, { credentials: 'same-origin', headers: { accept: 'text/html' } });
        if (res.status === 401) { location.reload(); return; }
        if (!res.ok) continue;
        const html = await res.text();
        const key = document.activeElement && el.contains(document.activeElement) ? document.activeElement.dataset.key : undefined;
        el.innerHTML = html;
        if (key) { const back = el.querySelector('[data-key="' + CSS.escape(key) + '"]'); if (back) back.focus(); }
      }
      tick();
      say('on', 'Live · updated ' + new Date().toISOString().slice(11, 19) + ' UTC');
    } catch { say('off', 'Offline · retrying'); }
    finally { busy = false; if (again) { again = false; reload(); } }
  };
  const es = new EventSource('/console/events');
  es.addEventListener('ready', () => { say('on', 'Live'); reload(); });
  es.addEventListener('changed', () => { clearTimeout(timer); timer = setTimeout(reload, 100); });
  es.onerror = () => say('off', 'Reconnecting…');
})();
`;
