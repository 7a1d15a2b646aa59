import { describe, expect, it } from '@jest/globals';
import type { Watch } from '@kubernetes/client-node';
import { KubeApiError } from './errors.js';
import { watchOnce } from './watch.js';

type Line = (type: string, obj: Record<string, unknown>) => void;

/** A Watch that replays `lines`, then ends the stream (with `end` as its error) unless aborted first. */
function fakeWatch(lines: Array<[string, Record<string, unknown>]>, end?: unknown): { watch: Watch; aborted: () => boolean } {
  let aborted = false;
  const watch = {
    async watch(_path: string, _params: unknown, onLine: Line, done: (err: unknown) => void): Promise<AbortController> {
      const ctrl = new AbortController();
      ctrl.signal.addEventListener('abort', () => {
        aborted = true;
        done(new Error('aborted'));
      });
      setImmediate(() => {
        for (const [type, obj] of lines) if (!aborted) onLine(type, obj);
        if (!aborted) done(end);
      });
      return ctrl;
    },
  } as unknown as Watch;
  return { watch, aborted: () => aborted };
}

describe('watchOnce', () => {
  const signal = new AbortController().signal;

  it('passes every line but ERROR on and resolves when the stream ends', async () => {
    const seen: string[] = [];
    const { watch } = fakeWatch([['ADDED', { n: 1 }], ['BOOKMARK', {}], ['MODIFIED', { n: 2 }]]);
    await watchOnce(watch, '/x', {}, 'watch x', (type) => seen.push(type), signal);
    expect(seen).toEqual(['ADDED', 'BOOKMARK', 'MODIFIED']);
  });

  it('rejects with the Status of an ERROR line (410 Gone) and ends the request', async () => {
    const { watch, aborted } = fakeWatch([['ERROR', { code: 410, reason: 'Expired', message: 'too old resource version' }], ['ADDED', {}]]);
    const err = await watchOnce(watch, '/x', {}, 'watch x', () => undefined, signal).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KubeApiError);
    expect([(err as KubeApiError).status, (err as KubeApiError).reason, (err as Error).message]).toEqual([410, 'Expired', 'watch x: HTTP 410: too old resource version']);
    expect(aborted()).toBe(true);
  });

  it('rejects a failed request with its HTTP status, and resolves when the caller aborts', async () => {
    const failed = fakeWatch([], Object.assign(new Error('Forbidden'), { statusCode: 403 }));
    await expect(watchOnce(failed.watch, '/x', {}, 'watch x', () => undefined, signal)).rejects.toMatchObject({ status: 403 });
    const stop = new AbortController();
    stop.abort();
    const quiet = fakeWatch([['ADDED', {}]]);
    await expect(watchOnce(quiet.watch, '/x', {}, 'watch x', () => undefined, stop.signal)).resolves.toBeUndefined();
    expect(quiet.aborted()).toBe(true);
  });
});
