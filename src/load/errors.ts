import { RouteshiftError } from '../core/errors.js';

/**
 * A load hook's `metadata.cmd` that routeshift cannot run natively: not a hey command, a flag it does not
 * know or will not honour, a bad value. Bad input like any other: the Canary is Invalid and the message
 * names the flag.
 */
export class LoadSpecError extends RouteshiftError {
  constructor(detail: string) {
    super('LoadSpec', detail);
  }
}
