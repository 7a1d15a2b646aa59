import type { Canary, HookType } from '../api/canary.js';
import type { GateResult } from '../analysis/types.js';
import { hooksOfType, runGates } from '../hooks/index.js';
import type { HookRunner } from '../hooks/types.js';

export type GateCheck = (canary: Canary, type: HookType, weight: number, approved: boolean, signal: AbortSignal) => Promise<GateResult[]>;

/** Runs a Canary's hooks of one type as gates, with the payload Flagger's hooks expect. */
export function buildGates(hooks: HookRunner): GateCheck {
  return async (canary, type, weight, approved, signal) => {
    const list = hooksOfType(canary.spec.analysis, type);
    if (list.length === 0) return [];
    return runGates(
      hooks,
      list,
      {
        name: canary.metadata.name,
        namespace: canary.metadata.namespace ?? 'default',
        phase: canary.status?.phase ?? 'Initializing',
        weight,
        revision: canary.status?.revision ?? '',
        type,
        // A smoke test can call the canary without being edited at each release.
        metadata: { stable: canary.spec.stable.name, canary: canary.spec.canary.name, route: canary.spec.routeRef.name },
      },
      { signal, approved },
    );
  };
}
