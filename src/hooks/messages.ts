import type { HookType } from '../api/canary.js';

/**
 * How a result reads in status, Events and logs, e.g.
 *   confirm-promotion gate 'approval' closed: HTTP 403
 *   rollout check 'smoke' failed: connect ECONNREFUSED 127.0.0.1:8080
 *   post-rollout hook 'notify-release' failed: HTTP 502
 */
export function describeResult(type: HookType, name: string, passed: boolean, detail: string): string {
  return `${type} ${noun(type)} '${name}' ${verb(type, passed)}${detail ? `: ${detail}` : ''}`;
}

export function isConfirmType(type: HookType): boolean {
  return type === 'confirm-rollout' || type === 'confirm-traffic-increase' || type === 'confirm-promotion';
}

function noun(type: HookType): string {
  if (isConfirmType(type)) return 'gate';
  if (type === 'pre-rollout' || type === 'rollout') return 'check';
  return 'hook';
}

function verb(type: HookType, passed: boolean): string {
  if (isConfirmType(type)) return passed ? 'open' : 'closed';
  switch (type) {
    case 'event':
      return passed ? 'delivered' : 'failed';
    case 'rollback': // runs after a rollback finished, like post-rollout: nothing depends on its answer
    case 'post-rollout':
      return passed ? 'succeeded' : 'failed';
    default:
      return passed ? 'passed' : 'failed';
  }
}
