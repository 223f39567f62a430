import { createRoute, z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { hashToken } from '../../auth/crypto';
import {
  addDetails, appIncident, appMe, createEnrollment, devicesOf, enroll, setAppLanguage, signOutDevice, signOutSelf,
} from '../../enrollment/service';
import {
  AppIncidentSchema, AppMePatch, AppMeSchema, DetailsBody, DeviceSchema, EnrollBody, EnrolledSchema, EnrollmentSchema,
} from '../../enrollment/schemas';
import { IncidentEnvelope } from '../../incidents/schemas';
import { AppError } from '../../errors';
import type { AppEnv } from '../context';
import { ErrorBody } from '../errors';
import { allow, principal } from '../middleware';
import { bearer, body, conflictError, errors, IdParam, json, notFoundError, router } from '../openapi';

/**
 * The driver app's API (issue 19): enrollment codes and device tokens, the driver's own profile,
 * the incident in words the app shows, and the details a driver adds after an SOS.
 */
const app = router();
const tags = ['driver app'];

/** The path whose request carries no token to judge: the code in its body is the credential (src/app.ts). */
export const ENROLL_PATH = '/v1/app/enroll';

const DriverParam = z.object({ id: z.uuid().openapi({ param: { name: 'id', in: 'path' }, description: 'The driver' }) });
const DeviceParams = DriverParam.extend({
  deviceId: z.uuid().openapi({ param: { name: 'deviceId', in: 'path' }, description: 'The device: the id of the enrollment that gave it its token' }),
});

app.openapi(
  createRoute({
    operationId: 'createEnrollment', method: 'post', path: '/v1/drivers/{id}/enrollments', tags, security: bearer, request: { params: DriverParam },
    summary: 'A single-use code that enrolls a phone in the driver app (valid 15 minutes)',
    description: 'The code is shown once; only its SHA-256 is stored. Open `url` on the driver’s phone (the console shows it as a QR code). Recorded in the audit log.',
    responses: { 201: json(EnrollmentSchema, 'The code and its link'), ...errors, ...notFoundError },
    middleware: [allow('admin', 'safety_lead')] as const,
  }),
  async (c) => {
    const e = await createEnrollment(c.get('deps'), principal(c), c.req.valid('param').id);
    return c.json(e, 201);
  },
);

app.openapi(
  createRoute({
    operationId: 'enrollDevice', method: 'post', path: ENROLL_PATH, tags, security: [{}], request: body(EnrollBody),
    summary: 'Trade an enrollment code for a device token (no bearer token)',
    description: 'A used, expired or unknown code answers 401, the same whichever it was. Of two exchanges of one code, exactly one gets a token.',
    responses: {
      201: json(EnrolledSchema, 'The device token (shown once) and its driver'),
      400: errors[400], 401: json(ErrorBody, 'The code is used, expired or unknown'), 413: errors[413], 415: errors[415], 422: errors[422],
    },
  }),
  async (c) => {
    const done = await enroll(c.get('deps'), c.req.valid('json').code);
    return c.json(done, 201);
  },
);

app.openapi(
  createRoute({
    operationId: 'listDevices', method: 'get', path: '/v1/drivers/{id}/devices', tags, security: bearer, request: { params: DriverParam },
    summary: 'The driver’s enrolled devices, newest first, signed out or not',
    responses: { 200: json(z.object({ devices: z.array(DeviceSchema) }).openapi('Devices'), 'Devices'), ...errors, ...notFoundError },
    middleware: [allow('admin', 'safety_lead')] as const,
  }),
  async (c) => {
    return c.json({ devices: await devicesOf(c.get('deps'), c.req.valid('param').id) }, 200);
  },
);

app.openapi(
  createRoute({
    operationId: 'revokeDevice', method: 'delete', path: '/v1/drivers/{id}/devices/{deviceId}', tags, security: bearer, request: { params: DeviceParams },
    summary: 'Sign a device out: its token is revoked, the driver’s other tokens are not',
    description: 'At once on every instance. Signing out a device already signed out changes nothing. Recorded in the audit log.',
    responses: { 200: json(z.object({ device: DeviceSchema }), 'The device, signed out'), ...errors, ...notFoundError },
    middleware: [allow('admin', 'safety_lead')] as const,
  }),
  async (c) => {
    const { id, deviceId } = c.req.valid('param');
    return c.json({ device: await signOutDevice(c.get('deps'), principal(c), id, deviceId) }, 200);
  },
);

/** The hash of the request's bearer token (authenticate() has accepted it). */
async function callerTokenHash(c: Context<AppEnv>): Promise<string> {
  const m = /^Bearer\s+(\S{1,512})\s*$/i.exec(c.req.header('authorization') ?? '');
  if (!m) throw new AppError('unauthorized', 'a bearer token is required');
  return hashToken(m[1]);
}

app.openapi(
  createRoute({
    operationId: 'signOutDevice', method: 'post', path: '/v1/app/sign-out', tags, security: bearer,
    summary: 'The app signs out: the caller’s device token is revoked',
    responses: { 204: { description: 'Signed out' }, ...errors, ...conflictError('The token was not issued to a device by an enrollment (an administrator revokes it)') },
    middleware: [allow('driver')] as const,
  }),
  async (c) => {
    await signOutSelf(c.get('deps'), principal(c), await callerTokenHash(c));
    return c.body(null, 204);
  },
);

app.openapi(
  createRoute({
    operationId: 'getAppMe', method: 'get', path: '/v1/app/me', tags, security: bearer,
    summary: 'The driver, the number to text SOS to, and the incidents still under way',
    responses: { 200: json(AppMeSchema, 'The driver'), ...errors },
    middleware: [allow('driver')] as const,
  }),
  async (c) => c.json(await appMe(c.get('deps'), principal(c)), 200),
);

app.openapi(
  createRoute({
    operationId: 'updateAppMe', method: 'patch', path: '/v1/app/me', tags, security: bearer, request: body(AppMePatch),
    summary: 'Set the language Mayday uses with the driver (the app, texts and calls)',
    responses: { 200: json(AppMeSchema, 'The driver'), ...errors },
    middleware: [allow('driver')] as const,
  }),
  async (c) => c.json(await setAppLanguage(c.get('deps'), principal(c), c.req.valid('json').language), 200),
);

app.openapi(
  createRoute({
    operationId: 'getAppIncident', method: 'get', path: '/v1/app/incidents/{id}', tags, security: bearer, request: { params: IdParam },
    summary: 'The driver’s own incident as the app shows it: paging, acknowledged (by whom), a check-in awaited',
    description: 'After a cancel with either PIN the answer is the same fixed "cancelled" view, whatever happens to the incident later.',
    responses: { 200: json(AppIncidentSchema, 'The incident'), ...errors, ...notFoundError },
    middleware: [allow('driver')] as const,
  }),
  async (c) => c.json(await appIncident(c.get('deps'), principal(c), c.req.valid('param').id), 200),
);

app.openapi(
  createRoute({
    operationId: 'addIncidentDetails', method: 'post', path: '/v1/incidents/{id}/details', tags: ['driver'], security: bearer, request: { params: IdParam, ...body(DetailsBody) },
    summary: 'Say what is happening after the SOS: the kind (refines the incident) and a note',
    description: 'At least one of kind and note. The kind replaces the incident’s and raises its severity if it warrants it; both land on the timeline as incident.details. After a cancel it still records, and answers as the driver’s reads show the incident.',
    responses: { 200: json(IncidentEnvelope, 'The incident'), ...errors, ...notFoundError, ...conflictError('The incident is resolved') },
    middleware: [allow('driver')] as const,
  }),
  async (c) => {
    const incident = await addDetails(c.get('deps'), principal(c), c.req.valid('param').id, c.req.valid('json'));
    return c.json({ incident }, 200);
  },
);

export default app;
