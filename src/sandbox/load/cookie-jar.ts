/**
 * One simulated user's cookies: what the answers' Set-Cookie lines set, sent back in Cookie, as a
 * browser does. Enough for cookie-based session affinity (a canary backend that sets a cookie and a
 * route that matches it); Path, Domain and expiry dates are not checked, `Max-Age<=0` deletes.
 */
export class CookieJar {
  private readonly cookies = new Map<string, string>();

  /** Applies the Set-Cookie lines of one answer. */
  store(setCookie: readonly string[] | undefined): void {
    for (const line of setCookie ?? []) {
      const [pair = '', ...attrs] = line.split(';');
      const eq = pair.indexOf('=');
      if (eq <= 0) continue;
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      const maxAge = attrs.map((a) => /^\s*max-age\s*=\s*(-?\d+)\s*$/i.exec(a)).find((m) => m)?.[1];
      if (maxAge !== undefined && Number(maxAge) <= 0) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
  }

  /** The Cookie header to send, or undefined when the jar is empty. */
  header(): string | undefined {
    if (this.cookies.size === 0) return undefined;
    return [...this.cookies].map(([n, v]) => `${n}=${v}`).join('; ');
  }
}
