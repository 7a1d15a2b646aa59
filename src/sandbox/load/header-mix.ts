import { RouteshiftError } from '../../core/errors.js';

/** A share of the load that carries extra headers: A/B traffic by header or by cookie. */
export interface HeaderMixEntry {
  /** In [0, 1]; the shares of all entries sum to at most 1, the rest carries no extra headers. */
  share: number;
  headers: Record<string, string>;
}

export class InvalidHeaderMixError extends RouteshiftError {
  constructor(message: string) {
    super('InvalidHeaderMix', message);
  }
}

export function validateHeaderMix(mix: readonly HeaderMixEntry[]): void {
  let total = 0;
  for (const e of mix) {
    if (!Number.isFinite(e.share) || e.share < 0 || e.share > 1) throw new InvalidHeaderMixError(`header mix share ${e.share} is not in [0, 1]`);
    total += e.share;
  }
  if (total > 1 + 1e-9) throw new InvalidHeaderMixError(`header mix shares sum to ${total}, more than 1`);
}

/** The extra headers of one request: entry i with probability share_i, none otherwise. */
export function pickHeaders(mix: readonly HeaderMixEntry[], random: () => number): Record<string, string> | undefined {
  let point = random();
  for (const e of mix) {
    if (point < e.share) return e.headers;
    point -= e.share;
  }
  return undefined;
}
