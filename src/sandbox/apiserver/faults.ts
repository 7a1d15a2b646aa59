/**
 * Runtime-settable failure injection, so tests can prove that clients retry, re-list and
 * re-watch. Shared by reference: set `writeFailureRate` on the live object.
 */
export interface FaultInjector {
  /** Share (0..1) of resource writes (POST/PUT/PATCH/DELETE) answered 409, 500 or 429 + Retry-After. */
  writeFailureRate: number;
  /** Ends every open watch stream now; clients see end-of-stream and re-watch. */
  dropWatches(): void;
  /** Forgets all watch history: every resourceVersion handed out so far becomes too old (410 Gone). */
  compact(): void;
}

export type InjectedFailure = 'conflict' | 'internal' | 'throttle';

/** Picks whether (and how) to fail one write; `random` is injectable for deterministic tests. */
export function pickFailure(rate: number, random: () => number = Math.random): InjectedFailure | undefined {
  if (!(rate > 0) || random() >= rate) return undefined;
  const r = random();
  return r < 1 / 3 ? 'conflict' : r < 2 / 3 ? 'internal' : 'throttle';
}
