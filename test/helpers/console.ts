import type { TestApp } from './app';

/** What a browser would send and keep: cookies, the console's origin, the CSRF token of the last page. */
export interface ConsoleClient {
  cookies: Map<string, string>;
  csrf?: string;
  get(path: string, headers?: Record<string, string>): Promise<ConsoleRes>;
  post(path: string, fields: Record<string, string>, headers?: Record<string, string>): Promise<ConsoleRes>;
}

export interface ConsoleRes {
  status: number;
  html: string;
  headers: Headers;
  location: string | null;
  setCookies: string[];
}

export const ORIGIN = 'http://localhost';

/** A cookie-keeping client of the console, in process (app.request). */
export function consoleClient(t: TestApp): ConsoleClient {
  const cookies = new Map<string, string>();
  const client: ConsoleClient = {
    cookies,
    async get(path, headers = {}) {
      return send('GET', path, undefined, headers);
    },
    async post(path, fields, headers = {}) {
      return send('POST', path, new URLSearchParams(fields).toString(), { 'content-type': 'application/x-www-form-urlencoded', origin: ORIGIN, ...headers });
    },
  };
  async function send(method: string, path: string, body: string | undefined, headers: Record<string, string>): Promise<ConsoleRes> {
    const cookie = [...cookies].map(([k, v]) => `${k}=${v}`).join('; ');
    const res = await t.app.request(path, { method, body, headers: { ...(cookie ? { cookie } : {}), ...headers } });
    const setCookies = res.headers.getSetCookie();
    for (const sc of setCookies) {
      const [pair, ...attrs] = sc.split(';');
      const i = pair.indexOf('=');
      const [k, v] = [pair.slice(0, i).trim(), pair.slice(i + 1).trim()];
      if (attrs.some((a) => /^\s*max-age=0\s*$/i.test(a)) || v === '') cookies.delete(k);
      else cookies.set(k, v);
    }
    const html = await res.text();
    const csrf = /name="csrf" value="([0-9a-f]+)"/.exec(html);
    if (csrf) client.csrf = csrf[1];
    return { status: res.status, html, headers: res.headers, location: res.headers.get('location'), setCookies };
  }
  return client;
}

/** Sign in through the form, as a person would. */
export async function signIn(t: TestApp, token: string): Promise<ConsoleClient & { res: ConsoleRes }> {
  const c = consoleClient(t);
  const form = await c.get('/console/sign-in');
  const nonce = /name="nonce" value="([0-9a-f]+)"/.exec(form.html)![1];
  const res = await c.post('/console/sign-in', { nonce, token });
  if (res.status === 303) await c.get('/console'); // picks up the CSRF token
  return Object.assign(c, { res });
}

/** The visible text of some HTML, squeezed: what a reader sees, for assertions. */
export const text = (html: string) =>
  html.replace(/<script[\s\S]*?<\/script>|<style[\s\S]*?<\/style>/g, ' ').replace(/<[^>]+>/g, ' ').replace(/&#39;|&#x27;/g, "'").replace(/&quot;/g, '"').replace(/&amp;/g, '&').replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/\s+/g, ' ').trim();
