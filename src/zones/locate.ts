import { getDistance, getDistanceFromLine, isPointInPolygon } from 'geolib';
import type { Polygon } from './schemas';

export interface ZoneShape {
  id: string;
  fallback: boolean;
  boundary: Polygon | null;
}
export type ZoneRule = 'inside' | 'fallback' | 'nearest' | 'none';
export interface Point { lat: number; lng: number }

const toGeo = (ring: Polygon['coordinates'][number]) => ring.map(([lng, lat]) => ({ latitude: lat, longitude: lng }));

export function polygonContains(poly: Polygon, p: Point): boolean {
  const pt = { latitude: p.lat, longitude: p.lng };
  const [outer, ...holes] = poly.coordinates;
  return isPointInPolygon(pt, toGeo(outer)) && !holes.some((h) => isPointInPolygon(pt, toGeo(h)));
}

/** Metres from a point to the nearest edge of a polygon's outer ring. */
export function distanceToPolygon(poly: Polygon, p: Point): number {
  const pt = { latitude: p.lat, longitude: p.lng };
  const ring = toGeo(poly.coordinates[0]);
  let best = Infinity;
  for (let i = 0; i + 1 < ring.length; i++) {
    const a = ring[i];
    const b = ring[i + 1];
    const d = a.latitude === b.latitude && a.longitude === b.longitude ? getDistance(pt, a) : getDistanceFromLine(pt, a, b);
    if (Number.isFinite(d) && d < best) best = d;
  }
  return best;
}

/**
 * Which zone takes a report at `p`: the first (oldest) zone whose boundary contains it; else the
 * fallback zone; else the zone whose boundary is nearest; else none (no zones at all — the SOS
 * is still taken and every safety lead is paged). A report with no location goes to the
 * fallback zone, or none.
 */
export function locateZone(zones: ZoneShape[], p: Point | null): { zoneId: string | null; rule: ZoneRule; distanceM?: number } {
  if (p) for (const z of zones) if (z.boundary && polygonContains(z.boundary, p)) return { zoneId: z.id, rule: 'inside' };
  const fallback = zones.find((z) => z.fallback);
  if (fallback) return { zoneId: fallback.id, rule: 'fallback' };
  if (!p) return { zoneId: null, rule: 'none' };
  let best: { zoneId: string; distanceM: number } | undefined;
  for (const z of zones) {
    if (!z.boundary) continue;
    const d = distanceToPolygon(z.boundary, p);
    if (!best || d < best.distanceM) best = { zoneId: z.id, distanceM: d };
  }
  return best ? { zoneId: best.zoneId, rule: 'nearest', distanceM: Math.round(best.distanceM) } : { zoneId: null, rule: 'none' };
}
