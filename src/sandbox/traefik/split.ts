/**
 * The split Traefik really applied at each weight of a rollout, from its own request counters.
 * Samples pair the route's weights (and whether Traefik has reported the route's generation) with
 * Traefik's per-service request totals; a step's window starts once Traefik has seen the weights and
 * had time to apply them (it throttles reloads to one per 2 s) and ends at the next weight change.
 */
export interface SplitSample {
  /** ms since an arbitrary start. */
  t: number;
  generation: number;
  /** Traefik has written status for this generation. */
  observed: boolean;
  stableWeight: number;
  canaryWeight: number;
  /** traefik_service_requests_total of the stable and canary backend services. */
  stableCount: number;
  canaryCount: number;
}

export interface MeasuredStep {
  canaryWeight: number;
  stableWeight: number;
  /** Canary share of the requests Traefik counted in the window, 0..100. */
  canaryPercent: number;
  requests: number;
  windowMs: number;
}

export interface SplitOptions {
  /** Wait after Traefik reports the generation before counting. Default 3000 ms. */
  settleMs?: number;
  /** Steps with a shorter window are left out. Default 1000 ms. */
  minWindowMs?: number;
}

export function measureSteps(samples: readonly SplitSample[], opts: SplitOptions = {}): MeasuredStep[] {
  const settle = opts.settleMs ?? 3000;
  const minWindow = opts.minWindowMs ?? 1000;
  const out: MeasuredStep[] = [];
  let i = 0;
  while (i < samples.length) {
    const first = samples[i] as SplitSample;
    let j = i;
    while (j + 1 < samples.length && sameWeights(samples[j + 1] as SplitSample, first)) j++;
    const seen = samples.slice(i, j + 1).find((s) => s.observed);
    const base = seen ? samples.slice(i, j + 1).find((s) => s.t >= seen.t + settle) : undefined;
    const end = samples[j] as SplitSample;
    if (base && end.t - base.t >= minWindow) {
      const canary = end.canaryCount - base.canaryCount;
      const stable = end.stableCount - base.stableCount;
      const total = canary + stable;
      if (total > 0) {
        out.push({
          canaryWeight: first.canaryWeight,
          stableWeight: first.stableWeight,
          canaryPercent: (100 * canary) / total,
          requests: total,
          windowMs: end.t - base.t,
        });
      }
    }
    i = j + 1;
  }
  return out;
}

function sameWeights(a: SplitSample, b: SplitSample): boolean {
  return a.stableWeight === b.stableWeight && a.canaryWeight === b.canaryWeight;
}
