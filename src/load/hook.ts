import type { AnalysisSpec, Canary, WebhookSpec } from '../api/canary.js';
import { handedOver } from '../analysis/policy.js';
import { errorMessage } from '../core/errors.js';
import { parseHeyCommand } from './hey.js';

/**
 * A hook routeshift runs itself: `type: rollout`, no url, and a `metadata.cmd` (with `metadata.type`
 * unset or `cmd`, as Flagger's loadtester reads it). The same hook with a url still goes to that url, so
 * a deployed flagger-loadtester keeps working.
 */
export function isNativeLoadHook(h: WebhookSpec): boolean {
  return h.type === 'rollout' && !h.url && typeof h.metadata?.cmd === 'string' && (h.metadata.type === undefined || h.metadata.type === 'cmd');
}

/** Problems with the native load hooks of a spec, each with its path. */
export function nativeLoadProblems(analysis: AnalysisSpec): Array<{ path: string; message: string }> {
  const out: Array<{ path: string; message: string }> = [];
  (analysis.webhooks ?? []).forEach((h, i) => {
    if (!isNativeLoadHook(h)) return;
    try {
      parseHeyCommand(h.metadata?.cmd ?? '');
    } catch (err) {
      out.push({ path: `spec.analysis.webhooks[${i}].metadata.cmd`, message: errorMessage(err) });
    }
  });
  return out;
}

/**
 * Why a Canary's load must stop, or undefined while its rollout analyses: phase Progressing, or Waiting at
 * a closed gate (the analysis and its rollout hooks go on there). Everything else ends it: promotion,
 * rollback, a time-out (rolled back, or handed to a person), suspension, an invalid spec.
 */
export function rolloutStopReason(canary: Canary): string | undefined {
  if (canary.spec?.suspend) return 'the Canary is suspended';
  const phase = canary.status?.phase;
  if (phase === 'Progressing') return undefined;
  if (phase === 'Waiting') return handedOver(canary.spec.analysis, canary.status ?? {}) ? 'the rollout timed out and waits for a person (onInconclusiveLimit: pause)' : undefined;
  return `the rollout is no longer analysing (phase ${phase ?? 'none'})`;
}
