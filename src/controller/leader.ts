import { CoordinationV1Api, type KubeConfig, type V1Lease } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import type { Clock } from '../core/clock.js';
import { errorMessage, RouteshiftError } from '../core/errors.js';
import { callOptions } from '../kube/options.js';
import { isConflict, isNotFound, KubeApiError, toKubeApiError } from '../kube/errors.js';

export interface LeaseStore {
  get(namespace: string, name: string, signal: AbortSignal): Promise<V1Lease | undefined>;
  create(lease: V1Lease, signal: AbortSignal): Promise<V1Lease>;
  replace(lease: V1Lease, signal: AbortSignal): Promise<V1Lease>;
}

export function kubeLeaseStore(kc: KubeConfig): LeaseStore {
  const api = kc.makeApiClient(CoordinationV1Api);
  return {
    async get(namespace, name, signal) {
      try {
        return await api.readNamespacedLease({ namespace, name }, callOptions(signal));
      } catch (err) {
        if (isNotFound(err)) return undefined;
        throw toKubeApiError(err, `get Lease ${namespace}/${name}`);
      }
    },
    async create(lease, signal) {
      try {
        return await api.createNamespacedLease({ namespace: lease.metadata?.namespace ?? 'default', body: lease }, callOptions(signal));
      } catch (err) {
        throw toKubeApiError(err, 'create Lease');
      }
    },
    async replace(lease, signal) {
      try {
        return await api.replaceNamespacedLease(
          { namespace: lease.metadata?.namespace ?? 'default', name: lease.metadata?.name ?? '', body: lease },
          callOptions(signal),
        );
      } catch (err) {
        throw toKubeApiError(err, 'update Lease');
      }
    },
  };
}

/**
 * The Lease cannot be used at all: its namespace does not exist, or the controller may not read or write
 * it. Fatal when it happens before the first Lease call succeeds (a misconfigured install would otherwise
 * retry forever and never act); a warning afterwards.
 */
export class LeaseUnavailableError extends RouteshiftError {
  constructor(lease: string, why: string, cause?: unknown) {
    super('LeaseUnavailable', `leader election cannot use Lease ${lease}: ${why}`, { cause });
  }
}

export function unusable(err: unknown, namespace: string, lease: string): LeaseUnavailableError | undefined {
  if (err instanceof LeaseUnavailableError) return err;
  if (!(err instanceof KubeApiError) || (err.status !== 401 && err.status !== 403)) return undefined;
  const fix = err.status === 403 ? ` (grant create, and get/update on this Lease, in namespace "${namespace}": deploy/base/rbac.yaml)` : '';
  return new LeaseUnavailableError(lease, `${err.message}${fix}`, err);
}

/** Lease times are MicroTime: RFC 3339 with exactly six fractional digits. */
export function microTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

export interface LeaderOptions {
  store: LeaseStore;
  namespace: string;
  name: string;
  identity: string;
  clock: Clock;
  logger: Logger;
  leaseDurationMs?: number;
  renewDeadlineMs?: number;
  retryPeriodMs?: number;
  onStartedLeading: () => void;
  onStoppedLeading: () => void;
}

/**
 * Lease-based leader election with client-go's rules: a lease is free when its holder has not
 * renewed it within leaseDuration *as observed by us* (our own clock from when we last saw the
 * record change, so clock skew between replicas does not matter); the leader steps down when it
 * cannot renew within renewDeadline, before anyone else may take over. On stop it releases the
 * lease so a successor need not wait out the duration.
 */
export class LeaderElector {
  private leading = false;
  private observedRecord = '';
  private observedAt = 0;
  private lastRenew = 0;
  /** Whether a Lease call has succeeded yet: until then an unusable Lease ends run() with an error. */
  private reached = false;
  private readonly leaseMs: number;
  private readonly renewMs: number;
  private readonly retryMs: number;

  constructor(private readonly opts: LeaderOptions) {
    this.leaseMs = opts.leaseDurationMs ?? 15_000;
    this.renewMs = opts.renewDeadlineMs ?? 10_000;
    this.retryMs = opts.retryPeriodMs ?? 2_000;
  }

  get isLeader(): boolean {
    return this.leading;
  }

  /** Elects until the signal aborts; rejects with LeaseUnavailableError when the Lease is unusable from the start. */
  async run(signal: AbortSignal): Promise<void> {
    const lease = `${this.opts.namespace}/${this.opts.name}`;
    while (!signal.aborted) {
      let ok = false;
      try {
        ok = await this.tryAcquireOrRenew(signal);
        this.reached = true;
      } catch (err) {
        const fatal = this.reached ? undefined : unusable(err, this.opts.namespace, lease);
        if (fatal && !signal.aborted) throw fatal;
        if (!signal.aborted) this.opts.logger.warn({ err: errorMessage(err) }, 'lease update failed');
      }
      const now = this.opts.clock.now();
      if (ok) {
        this.lastRenew = now;
        if (!this.leading) {
          this.leading = true;
          this.opts.logger.info({ identity: this.opts.identity, lease: `${this.opts.namespace}/${this.opts.name}` }, 'became leader');
          this.opts.onStartedLeading();
        }
      } else if (this.leading && now - this.lastRenew > this.renewMs) {
        this.stepDown('could not renew the lease within the renew deadline');
      }
      try {
        await this.opts.clock.sleep(this.retryMs, signal);
      } catch {
        break;
      }
    }
    if (this.leading) {
      await this.release();
      this.stepDown('stopping');
    }
  }

  private stepDown(why: string): void {
    this.leading = false;
    this.opts.logger.warn({ identity: this.opts.identity, why }, 'stopped leading');
    this.opts.onStoppedLeading();
  }

  private async tryAcquireOrRenew(signal: AbortSignal): Promise<boolean> {
    const { store, namespace, name, identity, clock } = this.opts;
    const nowIso = microTime(clock.now());
    const existing = await store.get(namespace, name, signal);
    const durationSeconds = Math.ceil(this.leaseMs / 1000);
    if (!existing) {
      try {
        await store.create(
          {
            apiVersion: 'coordination.k8s.io/v1',
            kind: 'Lease',
            metadata: { name, namespace },
            spec: { holderIdentity: identity, leaseDurationSeconds: durationSeconds, acquireTime: nowIso as unknown as Date, renewTime: nowIso as unknown as Date, leaseTransitions: 0 },
          },
          signal,
        );
        return true;
      } catch (err) {
        if (isConflict(err)) return false;
        if (isNotFound(err)) {
          const why = `namespace "${namespace}" does not exist (create it, or set leaderElection.namespace or POD_NAMESPACE)`;
          throw new LeaseUnavailableError(`${namespace}/${name}`, why, err);
        }
        throw err;
      }
    }
    const spec = existing.spec ?? {};
    const record = JSON.stringify([spec.holderIdentity, spec.renewTime, spec.leaseDurationSeconds]);
    if (record !== this.observedRecord) {
      this.observedRecord = record;
      this.observedAt = clock.now();
    }
    const holder = spec.holderIdentity ?? '';
    const heldByOther = holder !== '' && holder !== identity;
    const observedDuration = (spec.leaseDurationSeconds ?? durationSeconds) * 1000;
    if (heldByOther && clock.now() - this.observedAt < observedDuration) return false;
    const takingOver = holder !== identity;
    const next: V1Lease = {
      ...existing,
      spec: {
        ...spec,
        holderIdentity: identity,
        leaseDurationSeconds: durationSeconds,
        renewTime: nowIso as unknown as Date,
        ...(takingOver ? { acquireTime: nowIso as unknown as Date, leaseTransitions: (spec.leaseTransitions ?? 0) + 1 } : {}),
      },
    };
    try {
      await store.replace(next, signal);
      return true;
    } catch (err) {
      if (isConflict(err)) return false;
      throw err;
    }
  }

  /** Gives the lease up so the next replica can take over at once instead of after leaseDuration. */
  private async release(): Promise<void> {
    const { store, namespace, name, identity } = this.opts;
    const signal = AbortSignal.timeout(2_000);
    try {
      const existing = await store.get(namespace, name, signal);
      if (!existing || existing.spec?.holderIdentity !== identity) return;
      await store.replace({ ...existing, spec: { ...existing.spec, holderIdentity: '', leaseDurationSeconds: 1 } }, signal);
    } catch (err) {
      this.opts.logger.warn({ err: errorMessage(err) }, 'could not release the lease');
    }
  }
}
