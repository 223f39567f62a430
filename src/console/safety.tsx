/**
 * The safety team's pages (auditors, safety leads, the administrator): the response-time report,
 * export downloads and range verification. They call the audit module's functions, and record
 * in the audit log exactly what the JSON API records for the same action.
 */
import { Hono } from 'hono';
import { z } from 'zod';
import { openExport } from '../audit/export';
import { EXPORT_FORMATS } from '../audit/schemas';
import { recordAudit, responseTimes, verifyRange } from '../audit/store';
import { actorOf } from '../auth/principal';
import { AppError } from '../errors';
import { page, viewer, type ConsoleContext, type ConsoleEnv } from './render';
import { SAFETY_TEAM } from './session';
import { codesOf } from './store';
import { SafetyPage, VerifyPage, type DayRange } from './views/safety';

export const safety = new Hono<ConsoleEnv>();

const DAY = 86_400_000;
const Day = z.iso.date();

/** The form's days (UTC, `to` included) → the API's range (`to` exclusive). Default: the last 7 days. */
function rangeOf(c: ConsoleContext): { days: DayRange; from: Date; to: Date } {
  const today = new Date().toISOString().slice(0, 10);
  const from = c.req.query('from') || new Date(Date.now() - 6 * DAY).toISOString().slice(0, 10);
  const to = c.req.query('to') || today;
  if (!Day.safeParse(from).success || !Day.safeParse(to).success) throw new AppError('validation_failed', 'Dates must look like 2026-11-23.');
  const f = new Date(`${from}T00:00:00Z`);
  const t = new Date(Date.parse(`${to}T00:00:00Z`) + DAY);
  if (t <= f) throw new AppError('validation_failed', 'The range must end on or after the day it starts.');
  return { days: { from, to }, from: f, to: t };
}

safety.get('/safety', async (c) => {
  const p = viewer(c, SAFETY_TEAM);
  const r = rangeOf(c);
  const targetRaw = c.req.query('target');
  const target = targetRaw ? Number(targetRaw) : 60;
  if (!Number.isInteger(target) || target < 1 || target > 86_400) throw new AppError('validation_failed', 'The target must be a whole number of seconds from 1 to 86400.');
  const sql = c.get('deps').sql;
  const report = await responseTimes(sql, { from: r.from, to: r.to }, target);
  await recordAudit(sql, actorOf(p), 'report', { report: 'response-times', from: r.from.toISOString(), to: r.to.toISOString(), targetSeconds: target, via: 'console' });
  return page(c, 'Safety team', <SafetyPage range={r.days} report={report} />);
});

safety.get('/safety/verify', async (c) => {
  const p = viewer(c, SAFETY_TEAM);
  const r = rangeOf(c);
  const sql = c.get('deps').sql;
  const v = await verifyRange(sql, { from: r.from, to: r.to });
  await recordAudit(sql, actorOf(p), 'verify', { from: r.from.toISOString(), to: r.to.toISOString(), checked: v.checked, broken: v.broken.length, via: 'console' });
  if (!v.valid) c.get('log').warn({ broken: v.broken.length, checked: v.checked }, 'audit verify found broken timelines');
  const codes = v.broken.length ? await codesOf(sql, v.broken.slice(0, 500)) : new Map<string, number>();
  return page(c, 'Timeline verification', <VerifyPage range={r.days} v={v} codes={codes} />);
});

const stamp = (d: Date) => d.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');

/** The API's export, for a browser that holds a session cookie instead of a bearer token. */
safety.get('/export', async (c) => {
  const p = viewer(c, SAFETY_TEAM);
  const r = rangeOf(c);
  const format = z.enum(EXPORT_FORMATS).safeParse(c.req.query('format') ?? 'ndjson');
  if (!format.success) throw new AppError('validation_failed', `The format must be one of ${EXPORT_FORMATS.join(', ')}.`);
  const deps = c.get('deps');
  await recordAudit(deps.sql, actorOf(p), 'export', { from: r.from.toISOString(), to: r.to.toISOString(), format: format.data, requestId: c.get('requestId'), via: 'console' });
  const { stream, writer } = await openExport(deps.sql, { range: { from: r.from, to: r.to }, format: format.data, domain: new URL(deps.publicBaseUrl).hostname, log: c.get('log') });
  c.get('log').info({ format: format.data, from: r.from, to: r.to, via: 'console' }, 'audit export started');
  return c.body(stream, 200, {
    'Content-Type': writer.contentType,
    'Content-Disposition': `attachment; filename="mayday-audit-${stamp(r.from)}-${stamp(r.to)}.${writer.extension}"`,
  });
});
