/** Sign-in, errors and the phone simulator. */
import type { SimMessage } from '../../simulator/simulator';
import { ROLE, utcTime } from '../format';
import type { KnownPhone } from '../store';
import { Csrf, Notice, Since, type PageContext } from './layout';

const SIGNIN_NOTICES: Record<string, [string, 'good' | 'bad' | undefined]> = {
  'signed-out': ['Signed out.', 'good'],
  expired: ['Your session ended (signed out, or the token was revoked). Sign in again.', undefined],
};

export function SignInPage({ nonce, error, notice }: { nonce: string; error?: string; notice?: string }) {
  const n = notice ? SIGNIN_NOTICES[notice] : undefined;
  return (
    <>
      <h1>Sign in to the Mayday console</h1>
      {error && <Notice kind="bad">{error}</Notice>}
      {n && !error && <Notice kind={n[1]}>{n[0]}</Notice>}
      <form method="post" action="/console/sign-in">
        <input type="hidden" name="nonce" value={nonce} />
        <label for="token">Access token</label>
        <input id="token" name="token" type="password" autocomplete="off" required aria-describedby="token-hint" />
        <p id="token-hint" class="hint">
          A supervisor’s, safety lead’s, auditor’s or the administrator’s token (it starts with <code>mdy_</code>; <code>npm start</code> prints the demo’s tokens and the admin token). Drivers use the Mayday app instead.
        </p>
        <p><button type="submit" class="primary">Sign in</button></p>
      </form>
    </>
  );
}

export function ErrorPage({ status, title, message, signIn }: { status: number; title: string; message: string; signIn?: boolean }) {
  return (
    <>
      <h1>{title}</h1>
      <Notice kind="bad">{message}</Notice>
      <p class="muted">HTTP {status}</p>
      <p>{signIn ? <a href="/console/sign-in">Sign in</a> : <a href="/console">Back to the board</a>}</p>
    </>
  );
}

const enc = (phone: string) => encodeURIComponent(phone);

export function PhonesList({ phones, now }: { phones: KnownPhone[]; now: number }) {
  if (phones.length === 0) return <p class="empty">No phones yet.</p>;
  return (
    <table class="cards">
      <caption class="vh">Simulated phones, most recent activity first</caption>
      <thead>
        <tr><th scope="col">Phone</th><th scope="col">Whose</th><th scope="col" class="num">Messages and calls</th><th scope="col">Last activity</th></tr>
      </thead>
      <tbody>
        {phones.map((p) => (
          <tr>
            <td class="lead" data-label="Phone">
              <a href={`/console/phones/${enc(p.phone)}`} data-key={`ph-${p.phone}`}><strong>{p.name ?? 'Unknown number'}</strong> {p.phone}</a>
            </td>
            <td data-label="Whose">{p.role ? ROLE[p.role] ?? p.role : 'not a Mayday user'}</td>
            <td data-label="Messages and calls" class="num">{p.messages}</td>
            <td data-label="Last activity">{p.lastAt ? <><Since at={p.lastAt} now={now} /> ago</> : 'nothing yet'}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

export function PhonesPage({ phones, now, ownOnly }: { phones: KnownPhone[]; now: number; ownOnly?: boolean }) {
  return (
    <>
      <h1>Phone simulator</h1>
      <p>
        No Twilio credentials are configured, so Mayday’s texts and calls go to these simulated phones. Open one to read what it got,
        text Mayday back from it, or answer a ringing call by pressing a digit. What you do here is recorded on the incident’s timeline under your name.
      </p>
      {ownOnly && <p class="hint">You play only your own phone. Sign in as the administrator to play every part (the driver’s phone, other supervisors’).</p>}
      <p id="live" class="live" data-state="off" aria-live="polite">Updates when something changes.</p>
      <div data-live="/console/phones/list">
        <PhonesList phones={phones} now={now} />
      </div>
    </>
  );
}

/** Quick replies the newest message asks for: "Reply ACK 1000", "Reply SAFE or HELP". */
export function suggestedReplies(thread: SimMessage[]): string[] {
  const last = [...thread].reverse().find((m) => m.direction === 'to_phone' && m.kind === 'sms');
  if (!last) return [];
  const out: string[] = [];
  const ack = /\bACK (\d+)\b/.exec(last.body);
  if (ack && /reply/i.test(last.body)) out.push(`ACK ${ack[1]}`);
  if (/\bSAFE\b/.test(last.body) && /\bHELP\b/.test(last.body)) out.push('SAFE', 'HELP');
  return out;
}

const CALL_NOTICES: Record<string, [string, 'good' | 'bad' | undefined]> = {
  acknowledged: ['You pressed 1: the incident is acknowledged. The call ended.', 'good'],
  ignored: ['That was not 1: nothing was acknowledged. Mayday will call again.', undefined],
  already: ['The incident was already acknowledged or closed. The call ended.', undefined],
  unknown: ['Mayday does not know this call. It ended.', 'bad'],
  'hung-up': ['You hung up without pressing anything: that is not an acknowledgement. Mayday will call again.', undefined],
};

export function Thread({ ctx, phone, thread }: { ctx: PageContext; phone: string; thread: SimMessage[] }) {
  const quick = suggestedReplies(thread);
  return (
    <>
      {thread.length === 0 ? (
        <p class="empty">Nothing yet.</p>
      ) : (
        <ol class="thread" aria-label="Messages and calls, oldest first">
          {thread.map((m) => {
            const mine = m.direction === 'from_phone';
            if (m.kind === 'call') {
              const live = m.status === 'in-progress' || m.status === 'ringing';
              return (
                <li class="call">
                  <span class="meta">
                    <strong>{live ? '☎ Call from Mayday — on the line, waiting for a key' : '☎ Call from Mayday'}</strong> · {utcTime(m.createdAt)}
                    {!live && <> · ended{m.digits ? `, pressed ${m.digits}` : ', no key pressed'}</>}
                  </span>
                  <span>“{m.body}”</span>
                  {live && (
                    <div class="actions">
                      <form method="post" action={`/console/calls/${m.sid}/digits`} class="inline">
                        <Csrf ctx={ctx} />
                        <input type="hidden" name="digits" value="1" />
                        <button type="submit" class="primary" data-key={`press1-${m.sid}`}>Press 1 (acknowledge)</button>
                      </form>
                      <form method="post" action={`/console/calls/${m.sid}/digits`} class="inline">
                        <Csrf ctx={ctx} />
                        <label for={`d-${m.sid}`} class="vh">Other keys to press</label>
                        <input id={`d-${m.sid}`} name="digits" type="text" class="narrow" inputmode="numeric" pattern="[0-9*#]{1,8}" required placeholder="keys" />
                        <button type="submit" data-key={`press-${m.sid}`}>Press</button>
                      </form>
                      <form method="post" action={`/console/calls/${m.sid}/hangup`} class="inline">
                        <Csrf ctx={ctx} />
                        <button type="submit" data-key={`hang-${m.sid}`}>Hang up</button>
                      </form>
                    </div>
                  )}
                </li>
              );
            }
            return (
              <li class={mine ? 'from' : 'to'}>
                <span class="meta">{mine ? 'This phone → Mayday' : 'Mayday → this phone'} · {utcTime(m.createdAt)}</span>
                {m.body}
              </li>
            );
          })}
        </ol>
      )}
      {quick.length > 0 && (
        <form method="post" action={`/console/phones/${enc(phone)}/sms`} class="actions">
          <Csrf ctx={ctx} />
          <span>Quick reply:</span>
          {quick.map((q) => <button type="submit" name="body" value={q} data-key={`q-${q}`}>Text “{q}”</button>)}
        </form>
      )}
    </>
  );
}

export function PhonePage({ ctx, phone, owner, thread, notice }: { ctx: PageContext; phone: string; owner?: KnownPhone; thread: SimMessage[]; notice?: string }) {
  const n = notice ? CALL_NOTICES[notice] : undefined;
  return (
    <>
      <p><a href="/console/phones">← All phones</a></p>
      <h1>{owner?.name ?? 'Unknown number'} <span class="muted">{phone}</span></h1>
      {owner?.role && <p class="muted">{ROLE[owner.role] ?? owner.role}</p>}
      {n && <Notice kind={n[1]}>{n[0]}</Notice>}
      <p id="live" class="live" data-state="off" aria-live="polite">Updates when something changes.</p>
      <div data-live={`/console/phones/${enc(phone)}/thread`}>
        <Thread ctx={ctx} phone={phone} thread={thread} />
      </div>
      <form method="post" action={`/console/phones/${enc(phone)}/sms`}>
        <Csrf ctx={ctx} />
        <label for="body">Text Mayday from this phone</label>
        <input id="body" name="body" type="text" maxlength={1600} required autocomplete="off" aria-describedby="body-hint" />
        <p id="body-hint" class="hint">Responders: ACK &lt;number&gt; or 1. Drivers: SOS, SAFE or HELP.</p>
        <p><button type="submit" class="primary">Send text</button></p>
      </form>
    </>
  );
}
