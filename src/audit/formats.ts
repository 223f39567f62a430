/**
 * The export's four formats. Each is written incrementally: a head, then one piece per incident,
 * then a tail, so the export never holds more than one batch of incidents in memory.
 *
 *  - ndjson  (application/x-ndjson): one line per incident: {incident, locations, events, headHash,
 *            checkpointed}; then one line per signed checkpoint ({checkpoint}) and one of the keys.
 *  - csv     (text/csv): a header row, then one row per timeline event; RFC 4180 (CRLF between
 *            records; a field with a comma, quote, CR or LF is quoted, quotes doubled), UTF-8
 *            without a byte-order mark.
 *  - geojson (application/geo+json): one RFC 7946 FeatureCollection: per incident a Point at the
 *            opening location and, when the trail has two points or more, a LineString of it.
 *  - eido    (application/json): a JSON array of NENA EIDO-style objects, one per incident.
 */
import type { Checkpoint, PublicKey } from '../timeline/checkpoints';
import type { TimelineEvent } from '../timeline/schemas';
import type { ExportFormat } from './schemas';
import type { ExportIncident, ExportLocation } from './store';

export interface Writer {
  contentType: string;
  extension: string;
  /** What the format uses besides the incident row: the rest is not read. */
  needs: { events: boolean; locations: boolean };
  head(): string;
  /** The incident's piece ('' when it contributes nothing, e.g. no location in GeoJSON). */
  incident(x: ExportIncident): string;
  /**
   * The signed checkpoints after the incidents, and the public keys, in the formats that carry
   * the chain's hashes (ndjson, CSV, GeoJSON; an EIDO array holds incidents only).
   */
  checkpoint?(c: Checkpoint): string;
  keys?(keys: PublicKey[]): string;
  tail(): string;
}

export interface WriterOptions {
  /** The host Mayday is reached at (PUBLIC_BASE_URL's), used as the domain of EIDO identifiers. */
  domain: string;
}

export function writerFor(format: ExportFormat, o: WriterOptions): Writer {
  switch (format) {
    case 'ndjson':
      return ndjson();
    case 'csv':
      return csv();
    case 'geojson':
      return geojson();
    case 'eido':
      return eido(o);
  }
}

// ---------------------------------------------------------------------------------------------
// ndjson

function ndjson(): Writer {
  return {
    contentType: 'application/x-ndjson',
    extension: 'ndjson',
    needs: { events: true, locations: true },
    head: () => '',
    incident: (x) => JSON.stringify({ incident: x.incident, locations: x.locations, events: x.events, headHash: x.headHash, checkpointed: x.checkpointed }) + '\n',
    checkpoint: (c) => JSON.stringify({ checkpoint: c }) + '\n',
    keys: (keys) => JSON.stringify({ keys: keys.map((k) => ({ keyId: k.keyId, algorithm: 'Ed25519', publicKey: k.publicKey })) }) + '\n',
    tail: () => '',
  };
}

// ---------------------------------------------------------------------------------------------
// CSV

export const CSV_COLUMNS = ['incident_id', 'code', 'zone', 'kind', 'seq', 'type', 'at', 'actor', 'summary', 'hash', 'prev_hash', 'data'] as const;

/** What a spreadsheet reads as the start of a formula (or of a cell it may turn into one). */
const FORMULA_START = /^[=+\-@\t\r]/;

/**
 * One field, quoted when it must be (RFC 4180). A text cell that a spreadsheet would take for a
 * formula (a zone named "=HYPERLINK(...)") gets a leading apostrophe, which spreadsheets show as
 * text (OWASP's CSV injection advice). Numbers are written as they are.
 */
export function csvField(v: string | number | null): string {
  if (v === null) return '';
  const s = typeof v === 'string' && FORMULA_START.test(v) ? `'${v}` : String(v);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

function csv(): Writer {
  return {
    contentType: 'text/csv; charset=utf-8',
    extension: 'csv',
    needs: { events: true, locations: false },
    head: () => CSV_COLUMNS.join(',') + '\r\n',
    incident: (x) => {
      let out = '';
      for (const e of x.events) {
        out += [x.incident.id, x.incident.code, x.incident.zoneName, x.incident.kind, e.seq, e.type, e.at, e.actor, summarize(e), e.hash, e.prevHash, JSON.stringify(e.data)]
          .map(csvField)
          .join(',') + '\r\n';
      }
      return out;
    },
    // A row of their own after the incidents' rows: no incident, the whole record in `data`.
    checkpoint: (c) => ['', '', '', '', c.seq, 'timeline.checkpoint', c.at, 'system', `signed checkpoint over ${c.headsCount} timeline heads`, c.hash, c.prevHash, JSON.stringify(c)].map(csvField).join(',') + '\r\n',
    keys: (keys) => ['', '', '', '', '', 'audit.keys', '', 'system', 'the public keys of the checkpoints', '', '', JSON.stringify(keys.map((k) => ({ keyId: k.keyId, algorithm: 'Ed25519', publicKey: k.publicKey })))].map(csvField).join(',') + '\r\n',
    tail: () => '',
  };
}

const str = (v: unknown) => (v === undefined || v === null ? '' : typeof v === 'string' ? v : JSON.stringify(v));
const short = (v: unknown) => str(v).slice(0, 8);

/**
 * One human sentence for an event. Every one starts with fixed words of ours, never with what a
 * driver typed, so a note starting with "=" cannot become a spreadsheet formula in the summary
 * column. The full data stays in the `data` column.
 */
export function summarize(e: TimelineEvent): string {
  const d = e.data as Record<string, unknown>;
  const note = d.note !== undefined && d.note !== null ? `; note: ${str(d.note)}` : '';
  switch (e.type) {
    case 'incident.opened':
      return `opened: ${str(d.kind)}, ${str(d.severity)}, from ${str(d.source)}, zone ${d.zoneId ? short(d.zoneId) : 'none'} (${str(d.zoneRule)})${d.location ? '' : ', no location'}${note}`;
    case 'incident.duplicate_request':
      return 'repeated press of the same SOS (same clientRequestId)';
    case 'incident.linked':
      return `linked to incident ${str(d.otherIncidentId)} (${str(d.reason)})`;
    case 'location.updated': {
      const loc = (d.location ?? {}) as Record<string, unknown>;
      return `location fix #${str(loc.id)}${loc.accuracyM !== undefined ? `, accuracy ${str(loc.accuracyM)} m` : ''}${d.current === false ? ', older than the current fix' : ''}`;
    }
    case 'page.queued':
      return `page queued: ${str(d.channel)} to ${str(d.recipientId)} (${str(d.purpose)}, step ${str(d.step)}, attempt ${str(d.attempt)})`;
    case 'page.sent':
      return `page sent: ${str(d.channel)} to ${str(d.recipientId)}, attempt ${str(d.attempt)}`;
    case 'page.delivered':
      return `page delivered: ${str(d.channel)} to ${str(d.recipientId)} (${str(d.status)})`;
    case 'page.failed':
      return `page failed: ${str(d.channel)} to ${str(d.recipientId)} (${[d.errorCode, d.error].filter((x) => x !== undefined && x !== null).map(str).join(' ')})`;
    case 'page.voicemail':
      return `page call not answered by a person: ${str(d.recipientId)} (${str(d.answeredBy)})`;
    case 'escalation.step': {
      const n = Array.isArray(d.recipients) ? d.recipients.length : 0;
      return `escalation step ${str(d.step)}${d.round ? ` round ${str(d.round)}` : ''}: ${d.skipped ? 'nobody to reach' : `${n} recipient${n === 1 ? '' : 's'}`}${d.reason ? ` (${str(d.reason)})` : ''}`;
    }
    case 'escalation.exhausted':
      return `escalation exhausted after ${str(d.steps)} steps${d.nobodyReachable ? '; nobody reachable' : ''}`;
    case 'incident.acknowledged':
      return `acknowledged by ${str(d.by)} via ${str(d.via)}`;
    case 'checkin.requested':
      return `check-in #${str(d.seq)} requested, due ${str(d.dueAt)}`;
    case 'checkin.received':
      return `check-in answered: ${str(d.status)} via ${str(d.via)}${d.underDuress ? ' (under duress)' : ''}${note}`;
    case 'checkin.missed':
      return `check-in #${str(d.seq)} missed`;
    case 'cancel.requested':
      return `cancel PIN entered (status was ${str(d.statusBefore)})`;
    case 'cancel.rejected':
      return `wrong cancel PIN (attempt ${str(d.attempt)})`;
    case 'cancel.locked':
      return `cancel locked after ${str(d.afterAttempts)} wrong PINs`;
    case 'duress.triggered':
      return `DURESS PIN entered (status was ${str(d.statusBefore)})`;
    case 'incident.severity_raised':
      return `severity raised from ${str(d.from)} to ${str(d.to)}: ${str(d.reason)}`;
    case 'incident.resolved':
      return `resolved: ${str(d.disposition)} by ${str(d.by)}${note}`;
    case 'dispatch.requested':
      return `emergency dispatch requested: ${Array.isArray(d.services) ? d.services.map(str).join(', ') : str(d.services)} by ${e.actor} via ${str(d.via)} (dispatch ${short(d.dispatchId)})${note}`;
    case 'dispatch.created':
      return `dispatch alarm created at ${str(d.center)}: ${str(d.alarmId)}${d.ambiguous ? ' (an earlier attempt may have created another)' : ''}`;
    case 'dispatch.psap_contacted':
      return `dispatcher contacted the 911 centre at ${str(d.at)}${d.repeat ? ' (again)' : ''} (dispatch ${str(d.statusBefore)} -> ${str(d.status)})`;
    case 'dispatch.closed':
      return `dispatch closed by the dispatcher at ${str(d.at)} (was ${str(d.statusBefore)})`;
    case 'dispatch.canceled':
      return `dispatch alarm cancelled by the ${d.by === 'person' ? 'driver with the dispatcher' : 'driver\'s cancel PIN'} (was ${str(d.statusBefore)})`;
    case 'dispatch.location_failed':
      return `the dispatch center refused the driver's newer location (${[d.status, d.message].filter((x) => x !== undefined && x !== null).map(str).join(' ')}): the alarm keeps an older one`;
    case 'dispatch.failed':
      return d.reason === 'cancel'
        ? `cancelling the dispatch alarm failed: ${str(d.kind)} ${str(d.message)}`
        : `DISPATCH FAILED (${str(d.reason)}): ${[d.kind, d.status, d.message].filter((x) => x !== undefined && x !== null).map(str).join(' ')}; safety leads paged`;
    case 'location.redacted':
      return `locations coarsened: ${str(d.points)} point(s) to ${str(d.precisionDeg)}° (${str(d.reason)}, after ${str(d.days)} days)`;
    default:
      return `${e.type}: ${JSON.stringify(d)}`;
  }
}

// ---------------------------------------------------------------------------------------------
// GeoJSON (RFC 7946)

/** At most 7 decimals (~1 cm), as RFC 7946 section 11.2 recommends. */
export const round7 = (x: number) => Math.round(x * 1e7) / 1e7;
const position = (l: ExportLocation): [number, number] => [round7(l.lng), round7(l.lat)];

function geojson(): Writer {
  let n = 0;
  const feature = (f: unknown) => (n++ === 0 ? '\n' : ',\n') + JSON.stringify(f);
  // After the features, the checkpoints and the keys as foreign members of the collection
  // (RFC 7946 allows them): `open` is the array being written.
  let open: 'features' | 'checkpoints' | null = 'features';
  const close = () => (open ? ((open = null), '\n]') : '');
  return {
    contentType: 'application/geo+json',
    extension: 'geojson',
    needs: { events: false, locations: true },
    head: () => '{"type":"FeatureCollection","features":[',
    incident: (x) => {
      const i = x.incident;
      const props = {
        id: i.id, code: i.code, kind: i.kind, severity: i.severity, status: i.status,
        openedAt: i.openedAt, acknowledgedAt: i.acknowledgedAt, resolvedAt: i.resolvedAt, disposition: i.disposition,
      };
      let out = '';
      const opening = x.locations.find((l) => l.id === x.openingLocationId);
      if (opening) {
        out += feature({
          type: 'Feature',
          geometry: { type: 'Point', coordinates: position(opening) },
          properties: { ...props, feature: 'opening', accuracyM: opening.accuracyM, capturedAt: opening.capturedAt, coarsened: opening.coarsened },
        });
      }
      if (x.locations.length >= 2) {
        out += feature({
          type: 'Feature',
          geometry: { type: 'LineString', coordinates: x.locations.map(position) },
          properties: { ...props, feature: 'trail', points: x.locations.length, from: x.locations[0].capturedAt, to: x.locations[x.locations.length - 1].capturedAt, coarsened: x.locations.some((l) => l.coarsened) },
        });
      }
      return out;
    },
    checkpoint: (c) => {
      if (open === 'checkpoints') return ',\n' + JSON.stringify(c);
      const head = close() + ',"checkpoints":[\n';
      open = 'checkpoints';
      return head + JSON.stringify(c);
    },
    keys: (keys) => close() + ',"keys":' + JSON.stringify(keys.map((k) => ({ keyId: k.keyId, algorithm: 'Ed25519', publicKey: k.publicKey }))),
    tail: () => close() + '}\n',
  };
}

// ---------------------------------------------------------------------------------------------
// NENA EIDO (NENA-STA-024 / -021 style JSON)

/**
 * Our values mapped to the EIDO registries' texts. The internal code/text fields beside them
 * carry Mayday's own values exactly; adjust these tables to the receiving CAD's registry.
 */
export const EIDO_INCIDENT_TYPE: Record<ExportIncident['incident']['kind'], string> = {
  robbery: 'Robbery',
  shooting: 'Shooting',
  assault: 'Assault',
  harassment: 'Harassment',
  crash: 'Traffic Collision',
  medical: 'Medical',
  other: 'Other',
};
export const EIDO_STATUS: Record<ExportIncident['incident']['status'], string> = {
  open: 'Active',
  acknowledged: 'Active',
  cancel_requested: 'Active',
  resolved: 'Closed',
};
/** incidentCommonPriorityNumber: 0 (lowest) to 10 (highest). */
export const EIDO_PRIORITY: Record<ExportIncident['incident']['severity'], number> = { critical: 9, high: 7, medium: 5 };
export const EIDO_DISPOSITION: Record<NonNullable<ExportIncident['incident']['disposition']>, string> = {
  resolved_safe: 'No Further Action',
  police_dispatched: 'Police Dispatched',
  medical_dispatched: 'EMS Dispatched',
  false_alarm: 'False Alarm',
  driver_cancelled: 'Cancelled by Caller',
  duplicate: 'Duplicate',
  other: 'Other',
};

const xml = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&apos;');
/** notesActionComments are HTML5: escape what a driver or responder typed. */
const html = (s: string) => xml(s).replace(/\r\n|\r|\n/g, '<br>');

/** The NENA i3 incident tracking identifier: urn:emergency:uid:incidentid:<unique>:<domain>. */
export const incidentUrn = (id: string, domain: string) => `urn:emergency:uid:incidentid:${id.replace(/-/g, '').toLowerCase()}:${domain}`;

/**
 * The EIDO message's id: a UUID (version 8) made of the timeline's head hash (which covers the
 * incident id), so exporting the same state twice gives the same id, and any new event a new one.
 */
function messageId(incidentId: string, headHash: string | null): string {
  const h = (headHash ?? incidentId.replace(/-/g, '').padEnd(64, '0')).toLowerCase();
  const variant = ((parseInt(h[16], 16) & 0x3) | 0x8).toString(16);
  return `urn:uuid:${h.slice(0, 8)}-${h.slice(8, 12)}-8${h.slice(13, 16)}-${variant}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/**
 * A PIDF-LO presence document (RFC 4119/5491) with the fix by value: a circle of the accuracy
 * around the point (a bare point when the accuracy is unknown) in EPSG:4326 ("lat lon" order),
 * and the time the fix was taken.
 */
export function pidfLo(l: ExportLocation, entity: string): string {
  const pos = `${round7(l.lat)} ${round7(l.lng)}`;
  const shape = l.accuracyM === null
    ? `<gml:Point srsName="urn:ogc:def:crs:EPSG::4326"><gml:pos>${pos}</gml:pos></gml:Point>`
    : `<gs:Circle srsName="urn:ogc:def:crs:EPSG::4326"><gml:pos>${pos}</gml:pos><gs:radius uom="urn:ogc:def:uom:EPSG::9001">${Math.round(l.accuracyM * 10) / 10}</gs:radius></gs:Circle>`;
  return (
    `<?xml version="1.0" encoding="UTF-8"?>` +
    `<presence xmlns="urn:ietf:params:xml:ns:pidf" xmlns:dm="urn:ietf:params:xml:ns:pidf:data-model" xmlns:gp="urn:ietf:params:xml:ns:pidf:geopriv10" ` +
    `xmlns:gml="http://www.opengis.net/gml" xmlns:gs="http://www.opengis.net/pidflo/1.0" entity="${xml(entity)}">` +
    `<dm:device id="location-${l.id}"><gp:geopriv><gp:location-info>${shape}</gp:location-info>` +
    `<gp:usage-rules/>${l.coarsened ? '<gp:method>Coarsened</gp:method>' : ''}</gp:geopriv>` +
    `<dm:timestamp>${l.capturedAt}</dm:timestamp></dm:device></presence>`
  );
}

/** What the EIDO's services are called (its emergency service type registry's words). */
export const EIDO_SERVICE: Record<string, string> = { police: 'Law Enforcement', fire: 'Fire', medical: 'EMS' };

/**
 * The incident's emergency dispatches, read from its timeline alone (so the export says only
 * what the hash chain holds): one per dispatch.requested, with what followed it.
 */
export function dispatchesOf(events: readonly TimelineEvent[]) {
  type D = {
    id: string; requestedAt: string; requestedBy: string; via: string; services: string[]; note: string | null; center: string | null;
    alarmId: string | null; createdAt: string | null; psapContactedAt: string | null; closedAt: string | null; canceledAt: string | null;
    failedAt: string | null; failure: string | null; status: string; lastAt: string;
  };
  const all = new Map<string, D>();
  for (const e of events) {
    if (!e.type.startsWith('dispatch.')) continue;
    const data = e.data as Record<string, unknown>;
    const id = str(data.dispatchId);
    if (e.type === 'dispatch.requested') {
      all.set(id, {
        id, requestedAt: e.at, requestedBy: e.actor, via: str(data.via), services: Array.isArray(data.services) ? data.services.map(str) : [],
        note: data.note === undefined ? null : str(data.note), center: data.center === undefined ? null : str(data.center), alarmId: null, createdAt: null,
        psapContactedAt: null, closedAt: null, canceledAt: null, failedAt: null, failure: null, status: 'requested', lastAt: e.at,
      });
      continue;
    }
    const d = all.get(id);
    if (!d) continue;
    d.lastAt = e.at;
    const when = typeof data.at === 'string' ? data.at : e.at;
    if (e.type === 'dispatch.created') Object.assign(d, { alarmId: str(data.alarmId), createdAt: e.at, status: 'active' });
    else if (e.type === 'dispatch.psap_contacted') {
      d.psapContactedAt ??= when;
      if (d.status === 'active') d.status = 'psap_contacted';
    } else if (e.type === 'dispatch.closed' && !['closed', 'canceled', 'failed'].includes(d.status)) Object.assign(d, { closedAt: when, status: 'closed' });
    else if (e.type === 'dispatch.canceled' && !['closed', 'canceled', 'failed'].includes(d.status)) Object.assign(d, { canceledAt: when, status: 'canceled' });
    // A failure of the cancel or a dropped service leaves the alarm going; any other (creation, interrupted) means no alarm.
    else if (e.type === 'dispatch.failed' && data.reason !== 'cancel' && data.reason !== 'services_missing') Object.assign(d, { failedAt: e.at, status: 'failed', failure: [data.kind, data.status, data.message].filter((x) => x !== undefined).map(str).join(' ') });
  }
  return [...all.values()];
}

export function toEido(x: ExportIncident, domain: string) {
  const i = x.incident;
  const urn = incidentUrn(i.id, domain);
  const last = x.events.length ? x.events[x.events.length - 1].at : i.openedAt;
  const opening = x.locations.find((l) => l.id === x.openingLocationId);
  const latest = x.locations.length > 1 ? x.locations[x.locations.length - 1] : undefined;
  const entity = `pres:incident-${i.id}@${domain}`;
  const locationComponent = [
    ...(opening ? [{ $id: `location-${opening.id}`, lastUpdateTimeStamp: opening.capturedAt, locationTypeDescriptionRegistryText: 'Initial', locationByValue: pidfLo(opening, entity) }] : []),
    ...(latest && latest.id !== opening?.id
      ? [{ $id: `location-${latest.id}`, lastUpdateTimeStamp: latest.capturedAt, locationTypeDescriptionRegistryText: 'CurrentIncident', locationByValue: pidfLo(latest, entity) }]
      : []),
  ];
  // Every timeline event as a note at its own time: the CAD gets the incident's whole history.
  // Each request for emergency services as a dispatch component: the services, who asked, the
  // dispatch center's alarm and what it reported (911 contacted, closed, cancelled) or its failure.
  const dispatchComponent = dispatchesOf(x.events).map((d) => ({
    $id: `dispatch-${d.id}`,
    lastUpdateTimeStamp: d.lastAt,
    organizationIdentification: d.center === 'noonlight' ? 'noonlight.com' : `${d.center ?? 'unknown'}.${domain}`,
    dispatchStatusInternalText: d.status,
    emergencyServiceTypeRegistryText: d.services.map((s) => EIDO_SERVICE[s] ?? s),
    dispatchRequestedTimeStamp: d.requestedAt,
    dispatchRequestedByText: d.requestedBy,
    dispatchRequestedViaText: d.via,
    ...(d.alarmId ? { dispatchExternalIdentification: d.alarmId, dispatchCreatedTimeStamp: d.createdAt } : {}),
    ...(d.psapContactedAt ? { psapContactedTimeStamp: d.psapContactedAt } : {}),
    ...(d.closedAt ? { dispatchClosedTimeStamp: d.closedAt } : {}),
    ...(d.canceledAt ? { dispatchCanceledTimeStamp: d.canceledAt } : {}),
    ...(d.failedAt ? { dispatchFailedTimeStamp: d.failedAt, dispatchFailureText: d.failure } : {}),
    ...(d.note ? { notesActionComments: html(d.note) } : {}),
  }));
  const notesComponent = [
    ...(i.note ? [{ $id: `note-${i.id}-driver`, lastUpdateTimeStamp: i.openedAt, notesActionComments: html(`Driver's note: ${i.note}`) }] : []),
    ...x.events.map((e) => ({ $id: `note-${i.id}-${e.seq}`, lastUpdateTimeStamp: e.at, notesActionComments: html(`#${e.seq} ${e.type}: ${summarize(e)}`) })),
  ];
  return {
    $id: messageId(i.id, x.headHash),
    eidoVersion: '1.0',
    lastUpdateTimeStamp: last,
    issuingElementIdentification: domain,
    incidentComponent: {
      $id: urn,
      lastUpdateTimeStamp: last,
      incidentTrackingIdentifier: urn,
      internalIncidentId: i.id,
      documentIdentification: String(i.code),
      incidentTypeCommonRegistryText: EIDO_INCIDENT_TYPE[i.kind],
      incidentTypeInternalCode: i.kind,
      incidentTypeInternalText: `Delivery driver SOS: ${i.kind}`,
      incidentStatusCommonRegistryText: [EIDO_STATUS[i.status]],
      incidentStatusInternalText: [i.status],
      incidentCommonPriorityNumber: EIDO_PRIORITY[i.severity],
      incidentPriorityInternalText: i.severity,
      ...(i.zoneName ? { beatOrDispatchGroupText: i.zoneName } : {}),
      locationReference: locationComponent.map((l) => ({ $ref: l.$id })),
      notesReference: notesComponent.map((n) => ({ $ref: n.$id })),
      dispatchReference: dispatchComponent.map((d) => ({ $ref: d.$id })),
      dispositionComponent: i.disposition
        ? [{
            $id: `disposition-${i.id}`,
            lastUpdateTimeStamp: i.resolvedAt,
            dispositionCommonRegistryCode: EIDO_DISPOSITION[i.disposition],
            dispositionPrimaryIndicator: true,
            dispositionCategoryText: i.disposition,
            ...(i.resolutionNote ? { dispositionDescriptionText: i.resolutionNote } : {}),
          }]
        : [],
    },
    locationComponent,
    notesComponent,
    dispatchComponent,
  };
}

function eido(o: WriterOptions): Writer {
  let n = 0;
  return {
    contentType: 'application/json',
    extension: 'eido.json',
    needs: { events: true, locations: true },
    head: () => '[',
    incident: (x) => (n++ === 0 ? '\n' : ',\n') + JSON.stringify(toEido(x, o.domain)),
    tail: () => '\n]\n',
  };
}
