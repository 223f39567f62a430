/**
 * The alarm's PIN: four random digits that Mayday makes for each alarm and needs again only to
 * cancel it. It is kept sealed (AES-256-GCM, Web Crypto: Node and Workers alike) under a key
 * derived from a server secret (the Noonlight server token), so a copy of the database alone
 * cannot cancel an alarm or learn its PIN.
 */
const enc = new TextEncoder();
const b64 = (bytes: Uint8Array) => btoa(String.fromCharCode(...bytes));
const unb64 = (s: string) => Uint8Array.from(atob(s), (c) => c.charCodeAt(0));

export interface PinSeal {
  seal(pin: string): Promise<string>;
  open(sealed: string): Promise<string>;
}

/** A seal keyed by SHA-256("mayday dispatch pin\0" + secret). */
export function pinSeal(secret: string): PinSeal {
  const key = (async () => {
    const raw = await crypto.subtle.digest('SHA-256', enc.encode(`mayday dispatch pin\0${secret}`));
    return crypto.subtle.importKey('raw', raw, 'AES-GCM', false, ['encrypt', 'decrypt']);
  })();
  return {
    async seal(pin) {
      const iv = crypto.getRandomValues(new Uint8Array(12));
      const ct = new Uint8Array(await crypto.subtle.encrypt({ name: 'AES-GCM', iv }, await key, enc.encode(pin)));
      return `v1.${b64(iv)}.${b64(ct)}`;
    },
    async open(sealed) {
      const [v, iv, ct] = sealed.split('.');
      if (v !== 'v1' || !iv || !ct) throw new Error('not a sealed PIN');
      return new TextDecoder().decode(await crypto.subtle.decrypt({ name: 'AES-GCM', iv: unb64(iv) }, await key, unb64(ct)));
    },
  };
}

/** Four random digits, uniformly (rejection sampling, no modulo bias). */
export function newAlarmPin(): string {
  for (;;) {
    const [n] = crypto.getRandomValues(new Uint16Array(1));
    if (n < 60_000) return String(n % 10_000).padStart(4, '0');
  }
}
