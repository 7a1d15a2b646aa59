import type { HookType } from '../api/canary.js';
import type { GateResult } from './types.js';

/** Closed gates of the given types, in the order given. */
export function closedGates(gates: readonly GateResult[], ...types: HookType[]): GateResult[] {
  return gates.filter((g) => !g.passed && types.includes(g.type));
}

export function gateSummary(g: GateResult, verb: 'closed' | 'failed'): string {
  return `gate "${g.name}" (${g.type}) ${verb}${g.message ? `: ${g.message}` : ''}`;
}
