/** Waiting in tests for what happens on its own (a timer, a webhook, a simulated phone). */
import { ADMIN_TOKEN, type TestApp } from './app';

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The first truthy answer of `f`, asked every `pollMs`; fails naming `what` (and `more()`) after `ms`. */
export async function until<T>(
  what: string,
  f: () => Promise<T | undefined | false> | T | undefined | false,
  ms = 3_000,
  o: { pollMs?: number; more?: () => string } = {},
): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}${o.more ? `\n${o.more()}` : ''}`);
    await sleep(o.pollMs ?? 20);
  }
}

/** The SMS bodies the phone simulator holds for `phone`, oldest first. */
export async function smsTo(t: TestApp, phone: string): Promise<string[]> {
  const messages = (await t.get(`/v1/simulator/phones/${encodeURIComponent(phone)}/messages`, ADMIN_TOKEN)).body.messages as { kind: string; body: string }[];
  return messages.filter((m) => m.kind === 'sms').map((m) => m.body);
}
