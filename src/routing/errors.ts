import { RouteshiftError } from '../core/errors.js';

export type RouteMismatchCode =
  | 'RuleNotFound'
  | 'AmbiguousRule'
  | 'BackendNotFound'
  | 'DuplicateBackend'
  | 'UnsupportedRoute'
  /** The route lacks a rule or filter the Canary's traffic shape needs (A/B rule, cookie rule, mirror filter). */
  | 'ShapeMismatch'
  /** The route changed between our read and our write (failed `test` op, 409); the next read will see it. */
  | 'RouteChanged'
  /** The API server accepted the patch but the stored weights are not what we wrote (e.g. a mutating webhook). */
  | 'WeightNotApplied';

/** The route does not (or no longer) have the shape the Canary describes. */
export class RouteMismatchError extends RouteshiftError {
  declare readonly code: RouteMismatchCode;
  /** Which owned backend the problem is about, when it is about one. */
  readonly side: 'stable' | 'canary' | undefined;
  constructor(
    code: RouteMismatchCode,
    message: string,
    options?: { side?: 'stable' | 'canary'; cause?: unknown; path?: string },
  ) {
    super(code, message, options);
    this.side = options?.side;
  }
}

export class RouteNotFoundError extends RouteshiftError {
  declare readonly code: 'RouteNotFound';
  constructor(what: string, options?: { cause?: unknown }) {
    super('RouteNotFound', `${what} not found`, options);
  }
}

export type WeightErrorCode =
  /** Every weight of the owned pair is 0: no share can be computed; the route is broken. */
  | 'ZeroWeights'
  /** A requested weight is out of range, or would leave the whole rule at 0 (undefined behaviour in Gateway API). */
  | 'UnsafeWeights';

export class WeightError extends RouteshiftError {
  declare readonly code: WeightErrorCode;
  constructor(code: WeightErrorCode, message: string) {
    super(code, message);
  }
}

/** The API server call failed for a reason other than the ones above. */
export class RouteApiError extends RouteshiftError {
  declare readonly code: 'RouteApiError';
  /** HTTP status, when the server answered. */
  readonly status: number | undefined;
  /** transient: worth retrying on the next tick (5xx, 429, or no answer at all). */
  constructor(message: string, options: { status?: number; transient: boolean; cause?: unknown }) {
    super('RouteApiError', message, options);
    this.status = options.status;
  }
}
