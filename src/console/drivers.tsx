/**
 * The Drivers pages (administrator and safety leads): an app link for a driver's phone, shown as
 * text and as a QR code, and the driver's phones with a Sign out button each. They call the same
 * enrollment functions as the JSON API, which record the same audit log entries.
 */
import { Hono } from 'hono';
import QRCode from 'qrcode';
import { z } from 'zod';
import { createEnrollment, devicesOf, signOutDevice } from '../enrollment/service';
import { AppError } from '../errors';
import { form, page, pageContext, viewer, type ConsoleContext, type ConsoleEnv } from './render';
import { ENROLLERS } from './session';
import { driverById, listDrivers } from './store';
import { DriverPage, DriversPage, type CreatedLink } from './views/drivers';

export const drivers = new Hono<ConsoleEnv>();

const Uuid = z.uuid();
const uuidParam = (c: ConsoleContext, name: string, what: string) => {
  const r = Uuid.safeParse(c.req.param(name));
  if (!r.success) throw new AppError('not_found', `${what} not found`);
  return r.data.toLowerCase();
};

async function driverOf(c: ConsoleContext) {
  const d = await driverById(c.get('deps').sql, uuidParam(c, 'id', 'driver'));
  if (!d) throw new AppError('not_found', 'driver not found');
  return d;
}

/** The QR code of `url` as an SVG element, named for screen readers. */
export async function qrSvg(url: string): Promise<string> {
  const svg = await QRCode.toString(url, { type: 'svg', errorCorrectionLevel: 'M', margin: 2 });
  return svg.replace('<svg ', '<svg role="img" aria-label="QR code of the app link" focusable="false" ');
}

drivers.get('/drivers', async (c) => {
  viewer(c, ENROLLERS);
  return page(c, 'Drivers', <DriversPage ctx={pageContext(c)} drivers={await listDrivers(c.get('deps').sql)} />);
});

drivers.get('/drivers/:id', async (c) => {
  viewer(c, ENROLLERS);
  const d = await driverOf(c);
  const devices = await devicesOf(c.get('deps'), d.id);
  return page(c, d.name, <DriverPage ctx={pageContext(c)} driver={d} devices={devices} notice={c.req.query('n')} />);
});

// The answer is the page itself, not a redirect: the code is shown once and must never be in a URL.
drivers.post('/drivers/:id/enrollments', async (c) => {
  const { p } = await form(c, ENROLLERS);
  const d = await driverOf(c);
  const deps = c.get('deps');
  const e = await createEnrollment(deps, p, d.id, 'console');
  const link: CreatedLink = { url: e.url, expiresAt: e.expiresAt, qrSvg: await qrSvg(e.url) };
  const devices = await devicesOf(deps, d.id);
  return page(c, `${d.name}: app link`, <DriverPage ctx={pageContext(c)} driver={d} devices={devices} link={link} />);
});

drivers.post('/drivers/:id/devices/:deviceId/sign-out', async (c) => {
  const { p } = await form(c, ENROLLERS);
  const d = await driverOf(c);
  await signOutDevice(c.get('deps'), p, d.id, uuidParam(c, 'deviceId', 'device'), 'console');
  return c.redirect(`/console/drivers/${d.id}?n=signed-out`, 303);
});
