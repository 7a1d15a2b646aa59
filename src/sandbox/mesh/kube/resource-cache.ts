import { sharedAbortController } from '../../../core/abort.js';
import { makeInformer, type KubeConfig, type KubernetesObject, type KubernetesListObject } from '@kubernetes/client-node';
import type { Logger } from '../../../core/logger.js';
import { errorMessage } from '../../../core/errors.js';
import { list, type KubeRest } from './rest.js';
import type { KubeObject } from './types.js';

/** Read access to watched objects; what pure reconcilers need, and what tests fake with arrays. */
export interface ObjectStore<T extends KubeObject> {
  list(namespace?: string): readonly T[];
  get(name: string, namespace?: string): T | undefined;
}

export type ChangeKind = 'add' | 'update' | 'delete';

/**
 * A client-node informer (list + watch) that restarts itself after errors, as controller-runtime's
 * reflector does: client-node stops the watch on an error and leaves the retry to the caller.
 */
export class ResourceCache<T extends KubeObject> implements ObjectStore<T> {
  private readonly informer;
  private listed = false;
  private stopped = false;
  private restartTimer: NodeJS.Timeout | undefined;
  private readonly listeners: Array<(kind: ChangeKind, obj: T) => void> = [];
  /** Cancels a list in flight when the cache stops. */
  private readonly abort = sharedAbortController();
  private resolveSynced!: () => void;
  /** Resolves after the first successful list has filled the cache. */
  readonly synced: Promise<void> = new Promise((r) => (this.resolveSynced = r));

  constructor(
    kubeConfig: KubeConfig,
    rest: KubeRest,
    private readonly path: string,
    private readonly logger: Logger,
    labelSelector?: string,
    private readonly retryMs = 1000,
  ) {
    const listFn = async (): Promise<KubernetesListObject<KubernetesObject>> => {
      const result = await list<T>(rest, path, this.abort.signal, labelSelector);
      this.listed = true;
      return result as unknown as KubernetesListObject<KubernetesObject>;
    };
    this.informer = makeInformer<KubernetesObject>(kubeConfig, path, listFn, labelSelector);
    for (const kind of ['add', 'update', 'delete'] as const) {
      this.informer.on(kind, (obj) => {
        for (const l of this.listeners) l(kind, obj as unknown as T);
      });
    }
    this.informer.on('error', (err: unknown) => {
      if (this.stopped) return;
      this.logger.debug({ path, err: errorMessage(err) }, 'watch failed; restarting');
      this.scheduleRestart();
    });
  }

  onChange(listener: (kind: ChangeKind, obj: T) => void): void {
    this.listeners.push(listener);
  }

  /** Starts list+watch; resolves when the cache is synced or `signal` aborts. */
  async start(signal?: AbortSignal): Promise<void> {
    void this.run();
    await new Promise<void>((resolve) => {
      if (signal?.aborted) return resolve();
      signal?.addEventListener('abort', () => resolve(), { once: true });
      void this.synced.then(resolve);
    });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.restartTimer);
    this.abort.abort();
    await this.informer.stop();
  }

  list(namespace?: string): readonly T[] {
    return this.informer.list(namespace) as unknown as readonly T[];
  }

  get(name: string, namespace?: string): T | undefined {
    return this.informer.get(name, namespace) as unknown as T | undefined;
  }

  private async run(): Promise<void> {
    if (this.stopped) return;
    try {
      await this.informer.start();
    } catch (err) {
      this.logger.debug({ path: this.path, err: errorMessage(err) }, 'watch start failed');
      this.scheduleRestart();
      return;
    }
    if (this.listed) this.resolveSynced();
  }

  private scheduleRestart(): void {
    if (this.stopped || this.restartTimer) return;
    this.restartTimer = setTimeout(() => {
      this.restartTimer = undefined;
      void this.run();
    }, this.retryMs);
    this.restartTimer.unref();
  }
}
