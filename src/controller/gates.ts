import type { Canary, HookType } from '../api/canary.js';
import type { GateResult } from '../analysis/types.js';
import { hooksOfType, runGates } from '../hooks/index.js';
import type { HookRunner } from '../hooks/types.js';
import { describeResult } from '../hooks/messages.js';
import { isNativeLoadHook } from '../load/hook.js';
import type { LoadManager } from '../load/manager.js';

export type GateCheck = (canary: Canary, type: HookType, weight: number, approved: boolean, signal: AbortSignal) => Promise<GateResult[]>;

/**
 * Runs a Canary's hooks of one type as gates, with the payload Flagger's hooks expect. With `load`, the
 * rollout hooks that carry a hey command and no url arm the native load source instead of a call.
 */
export function buildGates(hooks: HookRunner, load?: LoadManager): GateCheck {
  return async (canary, type, weight, approved, signal) => {
    const all = hooksOfType(canary.spec.analysis, type);
    const native = load && type === 'rollout' ? all.filter(isNativeLoadHook) : [];
    const list = native.length ? all.filter((h) => !native.includes(h)) : all;
    const armed = native.map((h): GateResult => {
      const r = (load as LoadManager).arm(canary, h);
      return { name: h.name, type: h.type, passed: r.ok, message: describeResult(h.type, h.name, r.ok, r.detail) };
    });
    if (list.length === 0) return armed;
    const called = await runGates(
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
    return [...armed, ...called];
  };
}
