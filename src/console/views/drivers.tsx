/** Drivers and their phones in the driver app: app links (with a QR code) and signing a phone out. */
import type { Device } from '../../enrollment/schemas';
import { utc } from '../format';
import type { DriverRow } from '../store';
import { Csrf, Notice, type PageContext } from './layout';

const LANGUAGE: Record<string, string> = { en: 'English', es: 'Spanish (Español)' };

const NOTICES: Record<string, [string, 'good' | 'bad' | undefined]> = {
  'signed-out': ['The phone is signed out: the app there stops working at its next request. The driver’s other phones are not affected.', 'good'],
};

const CreateLink = ({ ctx, driver, label }: { ctx: PageContext; driver: { id: string; name: string }; label: string }) => (
  <form method="post" action={`/console/drivers/${driver.id}/enrollments`} class="inline">
    <Csrf ctx={ctx} />
    <button type="submit" class="primary" aria-label={`${label} for ${driver.name}`} data-key={`enroll-${driver.id}`}>{label}</button>
  </form>
);

export function DriversPage({ ctx, drivers }: { ctx: PageContext; drivers: DriverRow[] }) {
  return (
    <>
      <h1>Drivers</h1>
      <p>
        Put the Mayday app on a driver’s phone: <strong>Create app link</strong>, then open the link on that phone (scan its QR code with the
        phone’s camera). A link works once, for 15 minutes. A phone signed out here stops working at once.
      </p>
      {drivers.length === 0 ? (
        <p class="empty">No drivers yet. The administrator creates them (POST /v1/drivers).</p>
      ) : (
        <table class="cards">
          <caption class="vh">Drivers, by name</caption>
          <thead>
            <tr><th scope="col">Driver</th><th scope="col">Phone</th><th scope="col">Language</th><th scope="col" class="num">Phones with the app</th><th scope="col">App link</th></tr>
          </thead>
          <tbody>
            {drivers.map((d) => (
              <tr>
                <td class="lead" data-label="Driver"><a href={`/console/drivers/${d.id}`}><strong>{d.name}</strong></a></td>
                <td data-label="Phone">{d.phone ?? '—'}</td>
                <td data-label="Language">{LANGUAGE[d.language] ?? d.language}</td>
                <td data-label="Phones with the app" class="num">{d.devices}</td>
                <td data-label="App link"><CreateLink ctx={ctx} driver={d} label="Create app link" /></td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </>
  );
}

export interface CreatedLink {
  url: string;
  expiresAt: string;
  /** The QR code of `url`, as an SVG element (rendered on the server). */
  qrSvg: string;
}

/** The link just made: shown once (only its hash is kept), as text to copy and as a QR code. */
function AppLink({ driver, link }: { driver: { name: string }; link: CreatedLink }) {
  return (
    <section aria-labelledby="link-h" class="applink">
      <h2 id="link-h">App link for {driver.name}</h2>
      <Notice kind="good">
        The link works once, until {utc(link.expiresAt)} (15 minutes). It is shown only now: Mayday keeps no copy of it.
      </Notice>
      <div class="grid2">
        <figure class="qr">
          <div dangerouslySetInnerHTML={{ __html: link.qrSvg }} />
          <figcaption>Scan with {driver.name}’s phone camera to open the app and sign in.</figcaption>
        </figure>
        <div>
          <p id="applink-label"><strong>The link, to open on the driver’s phone</strong></p>
          <p><code id="applink" class="url" aria-labelledby="applink-label" aria-describedby="applink-hint">{link.url}</code></p>
          {/* Shown by the console's script, which alone can copy (a page without scripts shows the link only). */}
          <p><button type="button" data-copy="applink" hidden>Copy link</button></p>
          <p id="applink-hint" class="hint">Anyone who opens it first becomes this driver on their phone: give it only to {driver.name}.</p>
          <p>Expires <strong>{utc(link.expiresAt)}</strong>.</p>
        </div>
      </div>
    </section>
  );
}

export function DriverPage(
  { ctx, driver, devices, link, notice }: { ctx: PageContext; driver: Omit<DriverRow, 'devices'>; devices: Device[]; link?: CreatedLink; notice?: string },
) {
  const n = notice ? NOTICES[notice] : undefined;
  const live = devices.filter((d) => d.revokedAt === null);
  // "Phone 1" is the driver's first phone to sign in: a name that stays put as phones come and go.
  const label = new Map([...devices].sort((a, b) => a.enrolledAt.localeCompare(b.enrolledAt)).map((d, n) => [d.id, `Phone ${n + 1}`]));
  return (
    <>
      <p><a href="/console/drivers">← Drivers</a></p>
      <h1>{driver.name}</h1>
      {n && <Notice kind={n[1]}>{n[0]}</Notice>}
      <dl class="facts">
        <dt>Phone</dt><dd>{driver.phone ?? '—'}</dd>
        <dt>Language</dt><dd>{LANGUAGE[driver.language] ?? driver.language}</dd>
        <dt>Phones with the app</dt><dd>{live.length}</dd>
      </dl>
      {link && <AppLink driver={driver} link={link} />}
      <p class="actions"><CreateLink ctx={ctx} driver={driver} label={link ? 'Create another app link' : 'Create app link'} /></p>
      <h2>Phones</h2>
      {devices.length === 0 ? (
        <p class="empty">No phone has signed in with an app link yet.</p>
      ) : (
        <table class="cards">
          <caption class="vh">Phones signed in with an app link, newest first</caption>
          <thead>
            <tr><th scope="col">Phone</th><th scope="col">Signed in at</th><th scope="col">Link created</th><th scope="col">State</th><th scope="col">Action</th></tr>
          </thead>
          <tbody>
            {devices.map((d) => (
              <tr>
                <td class="lead" data-label="Phone"><strong>{label.get(d.id)}</strong></td>
                <td data-label="Signed in at">{utc(d.enrolledAt)}</td>
                <td data-label="Link created">{utc(d.createdAt)}</td>
                <td data-label="State">{d.revokedAt === null ? <strong>✓ Signed in</strong> : <>✕ Signed out {utc(d.revokedAt)}</>}</td>
                <td data-label="Action">
                  {d.revokedAt === null ? (
                    <form method="post" action={`/console/drivers/${driver.id}/devices/${d.id}/sign-out`} class="inline">
                      <Csrf ctx={ctx} />
                      <button type="submit" class="danger" aria-label={`Sign out ${label.get(d.id)}, signed in ${utc(d.enrolledAt)}`} data-key={`signout-${d.id}`}>Sign out</button>
                    </form>
                  ) : (
                    <span class="muted">—</span>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </>
  );
}
