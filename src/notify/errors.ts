import { RouteshiftError } from '../core/errors.js';

/** An alert with neither `url` nor a Secret that yields one: nothing to send to. */
export class AlertUrlMissingError extends RouteshiftError {
  constructor(alert: string, viaSecret: boolean) {
    super(
      'AlertUrlMissing',
      viaSecret
        ? `alert '${alert}': the secret gave no webhook address`
        : `alert '${alert}': no url and no secretRef`,
    );
  }
}
