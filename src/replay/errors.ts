import { RouteshiftError } from '../core/errors.js';

/**
 * Why a replay gives no verdict at all. Each has its own code; the CLI maps them to exit codes.
 * A replay never turns one of these into a decision: no data, an unreachable Prometheus and an
 * invalid Canary say nothing about how the Canary would have judged the past.
 */
export class ReplayInputError extends RouteshiftError {
  constructor(message: string) {
    super('ReplayInput', message);
  }
}

/** The window holds no sample for a metric's query: there is nothing to judge. */
export class ReplayNoDataError extends RouteshiftError {
  constructor(message: string) {
    super('ReplayNoData', message);
  }
}

/** Prometheus did not answer (down, slow, refusing): the replay stops instead of recording a hold. */
export class ReplayUnavailableError extends RouteshiftError {
  constructor(message: string, cause?: unknown) {
    super('ReplayPrometheusUnavailable', message, cause === undefined ? undefined : { cause });
  }
}
