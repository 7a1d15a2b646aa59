import { errorMessage, RouteshiftError } from '../../core/errors.js';
import { KubeApiError } from '../../kube/errors.js';
import { KubeconfigError } from '../kube.js';

/** Exit codes of every command; docs/cli.md lists them, scripts rely on them. */
export const EXIT = {
  ok: 0,
  /** watch: the rollout ended Failed (rolled back). */
  rolledBack: 1,
  /** Usage errors, refused requests, watch timeouts, unexpected API errors. */
  error: 2,
  /** watch: the Canary is Invalid (its spec must be fixed). */
  invalid: 3,
  notFound: 4,
  forbidden: 5,
  unreachable: 6,
  /** Interrupted (Ctrl-C), as shells report SIGINT. */
  interrupted: 130,
} as const;

/** An error the CLI reports as `error: <message>` and exits with `exitCode`. */
export class CliError extends RouteshiftError {
  readonly exitCode: number;
  constructor(code: string, exitCode: number, message: string, cause?: unknown) {
    super(code, message, cause === undefined ? undefined : { cause });
    this.exitCode = exitCode;
  }
}

/** Wrong flags or arguments, or a request the command refuses to make (e.g. promote without --yes). */
export class UsageError extends CliError {
  constructor(message: string) {
    super('Usage', EXIT.error, message);
  }
}

export class CanaryNotFoundError extends CliError {
  constructor(name: string, namespace: string, cause?: unknown) {
    super('CanaryNotFound', EXIT.notFound, `canary "${name}" not found in namespace "${namespace}"`, cause);
  }
}

/** The API has no Canary resource at all: the CRD is not installed. */
export class CanaryApiMissingError extends CliError {
  constructor(cause?: unknown) {
    super('CanaryApiMissing', EXIT.notFound, 'the server has no canaries.routeshift.io resource: is the routeshift CRD installed (deploy/crds/canary.yaml)?', cause);
  }
}

/** 401/403: the API said who we are may not do this; its own message says what was refused. */
export class AccessDeniedError extends CliError {
  constructor(message: string, cause?: unknown) {
    super('AccessDenied', EXIT.forbidden, message, cause);
  }
}

/** No answer from the API server (connection refused, DNS, TLS, timeout), or no kubeconfig to find it. */
export class ApiUnreachableError extends CliError {
  constructor(message: string, cause?: unknown) {
    super('ApiUnreachable', EXIT.unreachable, message, cause);
  }
}

export class WatchTimeoutError extends CliError {
  constructor(message: string) {
    super('WatchTimeout', EXIT.error, message);
  }
}

export class InterruptedError extends CliError {
  constructor() {
    super('Interrupted', EXIT.interrupted, 'interrupted');
  }
}

/** What the command was pointed at, to word errors. */
export interface ErrorTarget {
  namespace: string;
  name?: string;
  server?: string;
}

/** Maps anything thrown by a command to the CliError it is reported as. */
export function toCliError(err: unknown, target: ErrorTarget): CliError {
  if (err instanceof CliError) return err;
  if (err instanceof KubeconfigError) return new ApiUnreachableError(err.message, err);
  if (err instanceof KubeApiError) {
    if (err.status === 404 && target.name) return new CanaryNotFoundError(target.name, target.namespace, err);
    if (err.status === 404) return new CanaryApiMissingError(err);
    if (err.status === 401 || err.status === 403) return new AccessDeniedError(err.message, err);
    if (err.status === 0) {
      const where = target.server ? ` at ${target.server}` : '';
      return new ApiUnreachableError(`cannot reach the Kubernetes API${where}: ${rootCause(err)}`, err);
    }
    return new CliError(err.code, EXIT.error, err.message, err);
  }
  if (err instanceof RouteshiftError) return new CliError(err.code, EXIT.error, err.message, err);
  return new CliError('Internal', EXIT.error, errorMessage(err), err);
}

/** The innermost message: client-node wraps socket errors (ECONNREFUSED) in several layers. */
function rootCause(err: Error): string {
  let e: unknown = err;
  let text = err.message;
  for (let i = 0; i < 5 && e instanceof Error && e.cause !== undefined; i++) {
    e = e.cause;
    if (e instanceof Error && e.message) text = e.message;
  }
  const code = (e as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' && !text.includes(code) ? `${code}: ${text}` : text;
}
