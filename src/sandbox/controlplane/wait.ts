import { AbortedError } from '../../core/errors.js';
import { ControlPlaneStartError, type Child } from './child.js';

/**
 * Polls `check` until it returns true. Fails early when `child` has exited, with its log's tail,
 * so a bad flag shows the binary's own words instead of a time-out.
 */
export async function waitUntil(what: string, check: () => Promise<boolean>, opts: { timeoutMs: number; child?: Child; signal?: AbortSignal }): Promise<void> {
  const end = Date.now() + opts.timeoutMs;
  let delay = 50;
  for (;;) {
    if (opts.signal?.aborted) throw new AbortedError(what);
    if (opts.child && !opts.child.running) {
      throw new ControlPlaneStartError(`${opts.child.name} exited while waiting for ${what}:\n${opts.child.tail()}`);
    }
    if (await check().catch(() => false)) return;
    if (Date.now() > end) {
      throw new ControlPlaneStartError(`timed out after ${opts.timeoutMs} ms waiting for ${what}${opts.child ? `; ${opts.child.name} log:\n${opts.child.tail()}` : ''}`);
    }
    await new Promise((r) => setTimeout(r, delay));
    delay = Math.min(500, delay * 2);
  }
}
