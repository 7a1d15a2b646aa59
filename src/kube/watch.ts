import type { Watch } from '@kubernetes/client-node';
import { KubeApiError, toKubeApiError } from './errors.js';

/**
 * One watch request through client-node's Watch: every line but ERROR goes to `onLine`. Resolves when the
 * server ends the stream (or `signal` aborts, which tears the request down); rejects with KubeApiError
 * when the server sends an ERROR line (a Status: 410 Gone when the resourceVersion is too old) or the
 * request fails. Reopening, backoff and relisting are the caller's.
 */
export function watchOnce(
  watch: Watch,
  path: string,
  params: Record<string, string | number | boolean>,
  what: string,
  onLine: (type: string, obj: Record<string, unknown>) => void,
  signal: AbortSignal,
): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    let request: AbortController | undefined;
    let failure: KubeApiError | undefined;
    const onAbort = (): void => request?.abort();
    const done = (err: unknown): void => {
      signal.removeEventListener('abort', onAbort);
      if (signal.aborted) return resolve();
      if (failure) return reject(failure);
      if (!err) return resolve();
      const status = (err as { statusCode?: number }).statusCode;
      reject(status ? new KubeApiError(status, `${what}: HTTP ${status}`, undefined, err) : toKubeApiError(err, what));
    };
    const line = (type: string, obj: Record<string, unknown>): void => {
      if (type === 'ERROR') {
        const code = typeof obj.code === 'number' ? obj.code : 500;
        failure ??= new KubeApiError(code, `${what}: HTTP ${code}: ${String(obj.message ?? 'watch error')}`, typeof obj.reason === 'string' ? obj.reason : undefined);
        request?.abort();
        return;
      }
      onLine(type, obj);
    };
    watch
      .watch(path, params, line, done)
      .then((ctrl) => {
        request = ctrl;
        if (signal.aborted || failure) ctrl.abort();
        else signal.addEventListener('abort', onAbort, { once: true });
      })
      .catch((err: unknown) => reject(toKubeApiError(err, what)));
  });
}
