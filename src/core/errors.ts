/**
 * Every error routeshift raises on purpose carries a stable `code`, so status conditions, Events,
 * the CLI and tests can switch on it instead of parsing messages. Each concept gets its own subclass
 * in the module that owns the concept; this file only holds the base and the codes shared by all.
 */
export class RouteshiftError extends Error {
  readonly code: string;
  /** Where in the input the problem is (e.g. `spec.analysis.metrics[1].query`), when it has a place. */
  readonly path: string | undefined;
  /** Worth trying again unchanged (no answer, 5xx, 429...): the same call may succeed later. */
  readonly transient: boolean;

  constructor(code: string, message: string, options?: { cause?: unknown; path?: string; transient?: boolean }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.path = options?.path;
    this.transient = options?.transient ?? false;
  }
}

/** The input (a Canary, template, config file) is wrong; retrying will not help until it is edited. */
export class InvalidSpecError extends RouteshiftError {
  readonly problems: ReadonlyArray<{ path: string; message: string }>;
  constructor(problems: ReadonlyArray<{ path: string; message: string }>) {
    super(
      'InvalidSpec',
      problems.map((p) => (p.path ? `${p.path}: ${p.message}` : p.message)).join('; '),
    );
    this.problems = problems;
  }
}

/** The operation was cancelled through its AbortSignal. */
export class AbortedError extends RouteshiftError {
  constructor(what: string) {
    super('Aborted', `${what} was aborted`);
  }
}

export function errorCode(err: unknown): string {
  return err instanceof RouteshiftError ? err.code : 'Internal';
}

export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}

export function throwIfAborted(signal: AbortSignal | undefined, what: string): void {
  if (signal?.aborted) throw new AbortedError(what);
}
