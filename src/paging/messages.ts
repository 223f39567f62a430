import type { ClaimedPage } from './store';

const KIND_WORD: Record<ClaimedPage['kind'], string> = {
  robbery: 'ROBBERY', shooting: 'SHOOTING', assault: 'ASSAULT', harassment: 'HARASSMENT', crash: 'CRASH', medical: 'MEDICAL', other: 'EMERGENCY',
};

function age(from: Date, now: Date): string {
  const s = Math.max(0, Math.round((now.getTime() - from.getTime()) / 1000));
  if (s < 90) return `${s}s`;
  if (s < 5400) return `${Math.round(s / 60)}min`;
  return `${Math.round(s / 3600)}h`;
}

/** The SMS a page of any purpose sends. */
export function smsFor(p: ClaimedPage, now = new Date()): string {
  switch (p.purpose) {
    case 'checkin':
      return `Mayday #${p.code}: are you safe? Reply SAFE or HELP.`;
    case 'notice':
      return `Mayday #${p.code}: the driver ${p.driver_name} cancelled with their PIN. Please confirm they are safe and resolve the incident.`;
    case 'duress':
      return (
        `MAYDAY DURESS #${p.code}: driver ${p.driver_name} entered the DURESS PIN - their app shows "cancelled", they are NOT safe. ` +
        `Do not text or call the driver. ${fixText(p, now)} Reply ACK ${p.code} to take it.`
      );
    default:
      return pageSms(p, now);
  }
}

function fixText(p: ClaimedPage, now: Date): string {
  if (p.lat === null || p.lng === null || p.location_at === null) return 'Location unknown.';
  const where = `${p.lat.toFixed(5)},${p.lng.toFixed(5)}`;
  const acc = p.accuracy_m === null ? '' : ` ±${Math.round(p.accuracy_m)}m`;
  return `Last fix ${where}${acc}, ${age(p.location_at, now)} ago: https://maps.google.com/?q=${where}`;
}

const WHY: Record<string, string> = { need_help: ' (driver asks for HELP)', checkin_missed: ' (check-in MISSED)' };

/**
 * The SMS a responder gets. It always carries the literal words "ACK <code>", so the reply the
 * person types is the one the service understands, and the latest fix with its age and accuracy.
 */
export function pageSms(p: ClaimedPage, now = new Date()): string {
  const again =
    p.purpose === 'repage' ? (WHY[p.note ?? ''] ?? ' (again)') : p.round > 0 ? ` (reminder ${p.round})` : p.purpose === 'retry' ? ' (again)' : '';
  return (
    `MAYDAY #${p.code}${again}: ${KIND_WORD[p.kind]} - driver ${p.driver_name} needs help${p.zone_name ? ` in ${p.zone_name}` : ''}. ` +
    `${fixText(p, now)} Reply ACK ${p.code} to take it.`
  );
}

/** What the page call says (Twilio's <Say>), then gathers one digit: 1 acknowledges. */
export function pageScript(p: ClaimedPage): string {
  const code = String(p.code).split('').join(' ');
  if (p.purpose === 'duress') {
    return (
      `Mayday duress alert. Driver ${p.driver_name} entered the duress PIN. Their app shows the incident as cancelled, but they are not safe. ` +
      `Do not contact the driver. Incident ${code}. Location by text message. Press 1 to acknowledge and take this incident.`
    );
  }
  return (
    `Mayday emergency. ${KIND_WORD[p.kind].toLowerCase()} reported by driver ${p.driver_name}` +
    `${p.zone_name ? ` in ${p.zone_name}` : ''}. Incident ${code}. Location by text message. ` +
    `Press 1 to acknowledge and take this incident.`
  );
}
