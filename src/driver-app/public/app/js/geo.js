// @ts-check
/**
 * The phone's position, watched from the moment the app opens so that an SOS goes at once with
 * the last known fix (it never waits for a fresh one).
 */

/** @typedef {{ lat: number, lng: number, accuracyM: number, capturedAt: string }} Fix */

/** @type {Fix | undefined} */
let last;
/** @type {'finding' | 'ready' | 'off'} */
let state = 'finding';
/** @type {Set<(fix: Fix | undefined) => void>} */
const listeners = new Set();

export const lastFix = () => last;
export const geoState = () => state;

/** @param {(fix: Fix | undefined) => void} fn called on every new fix and change of state */
export function onFix(fn) {
  listeners.add(fn);
  return () => void listeners.delete(fn);
}

export function watch() {
  if (!('geolocation' in navigator)) {
    state = 'off';
    return;
  }
  navigator.geolocation.watchPosition(
    (p) => {
      last = {
        lat: p.coords.latitude,
        lng: p.coords.longitude,
        accuracyM: Math.round(p.coords.accuracy * 10) / 10,
        capturedAt: new Date(p.timestamp || Date.now()).toISOString(),
      };
      state = 'ready';
      for (const fn of listeners) fn(last);
    },
    (err) => {
      if (err.code === err.PERMISSION_DENIED) state = 'off';
      for (const fn of listeners) fn(undefined);
    },
    { enableHighAccuracy: true, maximumAge: 15_000 },
  );
}

/** Metres between two points (haversine, on a sphere of the Earth's mean radius). */
export function distanceM(/** @type {{lat: number, lng: number}} */ a, /** @type {{lat: number, lng: number}} */ b) {
  const rad = Math.PI / 180;
  const dLat = (b.lat - a.lat) * rad;
  const dLng = (b.lng - a.lng) * rad;
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(a.lat * rad) * Math.cos(b.lat * rad) * Math.sin(dLng / 2) ** 2;
  return 2 * 6_371_008.8 * Math.asin(Math.min(1, Math.sqrt(h)));
}
