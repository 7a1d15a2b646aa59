import { setMaxListeners } from 'node:events';

/**
 * An AbortController whose signal is shared by any number of concurrent requests (a component's
 * "stop everything" switch); without this Node warns of a listener leak past ten.
 */
export function sharedAbortController(): AbortController {
  const ac = new AbortController();
  setMaxListeners(0, ac.signal);
  return ac;
}
