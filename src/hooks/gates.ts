import type { AnalysisSpec, HookType, WebhookSpec } from '../api/canary.js';
import type { GateResult } from '../analysis/types.js';
import { errorMessage } from '../core/errors.js';
import { describeResult } from './messages.js';
import type { HookPayload, HookRunner, HookRunOptions } from './types.js';

/** The hooks of one type, in spec order. */
export function hooksOfType(spec: AnalysisSpec | undefined, type: HookType): WebhookSpec[] {
  return (spec?.webhooks ?? []).filter((h) => h.type === type);
}

/**
 * Runs every hook of a kind at once and keeps each result: the controller reports each gate by name
 * and a gate "passes" only when all of its hooks do (see allPassed).
 */
export async function runGates(
  runner: HookRunner,
  hooks: WebhookSpec[],
  payload: HookPayload,
  opts: HookRunOptions,
): Promise<GateResult[]> {
  return Promise.all(
    hooks.map((hook) =>
      runner.run(hook, payload, opts).catch(
        // HookRunner promises never to throw; a third-party runner might, and one hook must not sink the rest.
        (err: unknown): GateResult => ({
          name: hook.name,
          type: hook.type,
          passed: false,
          message: describeResult(hook.type, hook.name, false, errorMessage(err)),
        }),
      ),
    ),
  );
}

/** True when there is nothing to wait for: no results, or all passed. */
export function allPassed(results: GateResult[]): boolean {
  return results.every((r) => r.passed);
}
