/** How the console words and times things. Pure functions: the same text on the server and in tests. */
import type { Severity, Status } from '../incidents/schemas';

/** "45 s", "3 min 12 s", "2 h 05 min", "3 d 4 h": an age a supervisor reads at a glance. */
export function age(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${String(s % 60).padStart(2, '0')} s`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h} h ${String(m % 60).padStart(2, '0')} min`;
  return `${Math.floor(h / 24)} d ${h % 24} h`;
}

/** Time after the SOS as "+0:07", "+12:30", "+1:02:03". */
export function sinceSos(ms: number): string {
  const neg = ms < 0;
  const s = Math.floor(Math.abs(ms) / 1000);
  const hh = Math.floor(s / 3600);
  const mm = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, '0');
  const body = hh > 0 ? `${hh}:${String(mm).padStart(2, '0')}:${ss}` : `${mm}:${ss}`;
  return `${neg ? '−' : '+'}${body}`;
}

/** "2026-11-23 14:03:12 UTC": absolute times are UTC, said so, as the timeline stores them. */
export function utc(iso: string): string {
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)} UTC`;
}

/** "14:03:12 UTC" for the same day. */
export const utcTime = (iso: string) => `${iso.slice(11, 19)} UTC`;

/** A check-in outcome in words: "safe", "need_help", or "missed at 14:03:12 UTC" (status "missed", `at` when it was marked). */
export const checkInWords = (c: { at: string; status: string }) => (c.status === 'missed' ? `missed at ${utcTime(c.at)}` : c.status);

/** Severity as words and a shape, never colour alone: ▲ critical, ◆ high, ● medium. */
export const SEVERITY: Record<Severity, { label: string; icon: string; rank: number }> = {
  critical: { label: 'Critical', icon: '▲', rank: 3 },
  high: { label: 'High', icon: '◆', rank: 2 },
  medium: { label: 'Medium', icon: '●', rank: 1 },
};

export const STATUS: Record<Status, string> = {
  open: 'Open — not acknowledged',
  acknowledged: 'Acknowledged',
  cancel_requested: 'Cancel requested',
  resolved: 'Resolved',
};

export const KIND: Record<string, string> = {
  robbery: 'Robbery',
  shooting: 'Shooting',
  assault: 'Assault',
  harassment: 'Harassment',
  crash: 'Crash',
  medical: 'Medical',
  other: 'Other',
};

export const DISPOSITION: Record<string, string> = {
  resolved_safe: 'Resolved — driver safe',
  police_dispatched: 'Police dispatched',
  medical_dispatched: 'Medical dispatched',
  false_alarm: 'False alarm',
  driver_cancelled: 'Driver cancelled',
  duplicate: 'Duplicate',
  other: 'Other',
};

export const ROLE: Record<string, string> = {
  admin: 'administrator',
  supervisor: 'supervisor',
  safety_lead: 'safety lead',
  auditor: 'auditor',
  driver: 'driver',
  agent: 'support agent',
};

/** Newest and most severe first: severity, then newest opened. */
export function boardOrder<T extends { severity: Severity; openedAt: string }>(a: T, b: T): number {
  return SEVERITY[b.severity].rank - SEVERITY[a.severity].rank || b.openedAt.localeCompare(a.openedAt);
}

/** "1.2 km", "350 m". */
export function distance(m: number): string {
  return m >= 1000 ? `${(m / 1000).toFixed(m >= 10_000 ? 0 : 1)} km` : `${Math.round(m)} m`;
}
