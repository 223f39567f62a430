/**
 * The location trail as an SVG plot with the zone boundary. No map tiles (Mayday may run with
 * no internet): positions are projected to metres around the latest fix (equirectangular, exact
 * enough over a few kilometres), north up, with a scale bar. The plot frames the trail; when the
 * zone is much larger than that, an inset shows the whole zone and where in it the trail is.
 */
import type { Polygon } from '../../zones/schemas';
import { distance, utc } from '../format';
import type { Fix } from '../store';

const W = 600;
const H = 400;
const M_PER_DEG_LAT = 110_574;
const M_PER_DEG_LNG_EQ = 111_320;
const MIN_SPAN_M = 600;
const NICE = [5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10_000, 20_000, 50_000, 100_000];

type P = readonly [number, number];
interface Box { minX: number; maxX: number; minY: number; maxY: number }

const boxOf = (ps: readonly P[]): Box => ({
  minX: Math.min(...ps.map((p) => p[0])), maxX: Math.max(...ps.map((p) => p[0])),
  minY: Math.min(...ps.map((p) => p[1])), maxY: Math.max(...ps.map((p) => p[1])),
});

/** A view of `w`×`h` pixels (aspect kept) framing `b` with a margin; y grows northwards in metres. */
function frame(b: Box, w: number, h: number, margin: number, minSpan: number) {
  const cx = (b.minX + b.maxX) / 2;
  const cy = (b.minY + b.maxY) / 2;
  const spanX = Math.max((b.maxX - b.minX) * (1 + 2 * margin), ((b.maxY - b.minY) * (1 + 2 * margin) * w) / h, minSpan);
  const scale = w / spanX;
  return { scale, spanX, x: (m: number) => w / 2 + (m - cx) * scale, y: (m: number) => h / 2 - (m - cy) * scale };
}

const f1 = (n: number) => n.toFixed(1);

export function TrailPlot({ fixes, boundary, zoneName }: { fixes: Fix[]; boundary: Polygon | null; zoneName: string | null }) {
  if (fixes.length === 0) return <p class="empty">No location yet: the SOS came without a position.</p>;
  const last = fixes[fixes.length - 1];
  const kx = M_PER_DEG_LNG_EQ * Math.cos((last.lat * Math.PI) / 180);
  const proj = (lng: number, lat: number): P => [(lng - last.lng) * kx, (lat - last.lat) * M_PER_DEG_LAT];
  const ring = boundary?.coordinates[0]?.map(([lng, lat]) => proj(lng, lat)) ?? [];
  const pts = fixes.map((f) => proj(f.lng, f.lat));
  const trailBox = boxOf(pts);
  const zoneBox = ring.length > 2 ? boxOf(ring) : undefined;
  const trailView = frame(trailBox, W, H, 0.2, MIN_SPAN_M);
  // A zone no more than ~3 views across is drawn whole; a larger one gets the overview inset.
  const zoneFits = zoneBox && Math.max(zoneBox.maxX - zoneBox.minX, ((zoneBox.maxY - zoneBox.minY) * W) / H) <= 3 * trailView.spanX;
  const v = zoneFits ? frame(boxOf([...pts, ...ring]), W, H, 0.06, MIN_SPAN_M) : trailView;
  const scaleM = NICE.filter((n) => n * v.scale <= W / 4).pop() ?? NICE[0];
  const lastP = pts[pts.length - 1];
  const first = pts[0];
  const acc = last.accuracyM ? last.accuracyM * v.scale : 0;
  const inset = zoneBox && !zoneFits ? { w: 150, h: 110 } : undefined;
  const iv = inset && zoneBox ? frame(zoneBox, inset.w, inset.h, 0.08, 1) : undefined;
  return (
    <figure>
      <svg class="plot" viewBox={`0 0 ${W} ${H}`} role="img" aria-labelledby="trail-title trail-desc" xmlns="http://www.w3.org/2000/svg">
        <title id="trail-title">Location trail{zoneName ? ` in ${zoneName}` : ''}</title>
        <desc id="trail-desc">
          {`${fixes.length} position${fixes.length === 1 ? '' : 's'}; the latest at ${utc(last.capturedAt)}` +
            (last.accuracyM ? `, accurate to ${distance(last.accuracyM)}` : '') +
            (boundary ? '; the dashed outline is the zone boundary.' : '.')}
        </desc>
        <rect x="0" y="0" width={W} height={H} fill="#ffffff" />
        {ring.length > 2 && (
          <polygon points={ring.map(([x, y]) => `${f1(v.x(x))},${f1(v.y(y))}`).join(' ')} fill="#e9f0fa" stroke="#1f3b63" stroke-width="2" stroke-dasharray="8 5" />
        )}
        {acc > 1 && <circle cx={f1(v.x(lastP[0]))} cy={f1(v.y(lastP[1]))} r={f1(acc)} fill="#a10f0f" fill-opacity="0.12" stroke="#a10f0f" stroke-width="1" />}
        {pts.length > 1 && (
          <polyline points={pts.map(([x, y]) => `${f1(v.x(x))},${f1(v.y(y))}`).join(' ')} fill="none" stroke="#111" stroke-width="2.5" stroke-linejoin="round" />
        )}
        {pts.slice(1, -1).map(([x, y]) => <circle cx={f1(v.x(x))} cy={f1(v.y(y))} r="3.5" fill="#111" />)}
        {pts.length > 1 && <rect x={f1(v.x(first[0]) - 6)} y={f1(v.y(first[1]) - 6)} width="12" height="12" fill="#fff" stroke="#111" stroke-width="2.5" />}
        <circle cx={f1(v.x(lastP[0]))} cy={f1(v.y(lastP[1]))} r="8" fill="#a10f0f" stroke="#fff" stroke-width="3" />
        <circle cx={f1(v.x(lastP[0]))} cy={f1(v.y(lastP[1]))} r="10.5" fill="none" stroke="#111" stroke-width="1.5" />
        <g font-family="system-ui, sans-serif" font-size="14" fill="#111">
          <rect x="8" y={H - 44} width={Math.max(scaleM * v.scale, 40) + 18} height="36" fill="#fff" fill-opacity="0.85" />
          <line x1="16" y1={H - 16} x2={f1(16 + scaleM * v.scale)} y2={H - 16} stroke="#111" stroke-width="3" />
          <line x1="16" y1={H - 22} x2="16" y2={H - 10} stroke="#111" stroke-width="2" />
          <line x1={f1(16 + scaleM * v.scale)} y1={H - 22} x2={f1(16 + scaleM * v.scale)} y2={H - 10} stroke="#111" stroke-width="2" />
          <text x="16" y={H - 27}>{distance(scaleM)}</text>
          <text x={W - 28} y="24" font-weight="700">N</text>
          <path d={`M ${W - 23} 30 l -6 14 l 6 -4 l 6 4 z`} fill="#111" />
          {zoneName && zoneFits && <text x="12" y="22" font-weight="600">{zoneName}</text>}
        </g>
        {inset && iv && (
          <g>
            <rect x="8" y="8" width={inset.w} height={inset.h} fill="#fff" stroke="#111" stroke-width="1.5" />
            <svg x="8" y="8" width={inset.w} height={inset.h} viewBox={`0 0 ${inset.w} ${inset.h}`}>
              <polygon points={ring.map(([x, y]) => `${f1(iv.x(x))},${f1(iv.y(y))}`).join(' ')} fill="#e9f0fa" stroke="#1f3b63" stroke-width="1.5" stroke-dasharray="4 3" />
              <rect
                x={f1(iv.x(trailBox.minX + (trailBox.maxX - trailBox.minX) / 2 - v.spanX / 2))}
                y={f1(iv.y(trailBox.minY + (trailBox.maxY - trailBox.minY) / 2 + (v.spanX * H) / W / 2))}
                width={f1(Math.max(v.spanX * iv.scale, 3))}
                height={f1(Math.max(((v.spanX * H) / W) * iv.scale, 2))}
                fill="none" stroke="#111" stroke-width="1.5"
              />
              <circle cx={f1(iv.x(lastP[0]))} cy={f1(iv.y(lastP[1]))} r="3.5" fill="#a10f0f" />
            </svg>
            <text x="12" y={inset.h + 24} font-family="system-ui, sans-serif" font-size="12" fill="#111">{`${zoneName ?? 'Zone'} (whole)`}</text>
          </g>
        )}
      </svg>
      <figcaption>
        <span aria-hidden="true">●</span> latest position{last.accuracyM ? ' (shaded: accuracy)' : ''}
        {pts.length > 1 && <>; <span aria-hidden="true">□</span> position at the SOS; line: the path between</>}
        {boundary && '; dashed: zone boundary'}
        {inset && '; top left: the whole zone, the box showing this view'}. Plot {distance(v.spanX)} across, north up.
      </figcaption>
    </figure>
  );
}
