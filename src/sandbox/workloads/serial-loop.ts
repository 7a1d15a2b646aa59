import type { Logger } from '../../core/logger.js';
import { errorMessage } from '../../core/errors.js';

/**
 * Runs `work` one pass at a time: a trigger during a pass asks for one more pass after it, and a
 * failed pass is retried after `retryMs`. The node-like parts of the sandbox (the workload runner,
 * the pod agent) reconcile this way, as a controller's work queue does for a single key.
 */
export class SerialLoop {
  private dirty = false;
  private loop: Promise<void> | undefined;
  private retry: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(
    private readonly work: () => Promise<void>,
    private readonly logger: Logger,
    private readonly what: string,
    private readonly retryMs: number,
  ) {}

  trigger(): void {
    if (this.stopped) return;
    this.dirty = true;
    if (this.loop) return;
    this.loop = this.run().finally(() => {
      this.loop = undefined;
    });
  }

  /** Resolves when no pass is running or queued. */
  async idle(): Promise<void> {
    while (this.loop) await this.loop;
  }

  /** No pass starts after this; resolves once the running one has ended. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.retry);
    await this.idle();
  }

  private async run(): Promise<void> {
    while (this.dirty && !this.stopped) {
      this.dirty = false;
      try {
        await this.work();
      } catch (err) {
        if (this.stopped) return;
        this.logger.warn({ err: errorMessage(err) }, `${this.what} failed; retrying`);
        clearTimeout(this.retry);
        this.retry = setTimeout(() => this.trigger(), this.retryMs);
        this.retry.unref();
        return;
      }
    }
  }
}
