import { RouteshiftError } from '../core/errors.js';
import type { CanaryStore } from './canary-store.js';

/** A write for a Canary whose shard this replica does not hold (any more): refused before it is sent. */
export class ShardNotHeldError extends RouteshiftError {
  constructor(key: string) {
    super('ShardNotHeld', `not writing Canary ${key}: this replica does not hold its shard's Lease now`);
  }
}

/**
 * The store with the fence: each status write and patch first asks `acts` whether this replica may
 * act on the Canary now (its shard's Lease held and renewed within the renew deadline). The Lease
 * decides who writes; resourceVersion on every status write catches a write that raced a move anyway.
 */
export function fencedStore(store: CanaryStore, acts: (key: string) => boolean): CanaryStore {
  const check = (namespace: string | undefined, name: string): void => {
    const key = `${namespace ?? ''}/${name}`;
    if (!acts(key)) throw new ShardNotHeldError(key);
  };
  return {
    get: (namespace, name, signal) => store.get(namespace, name, signal),
    list: (signal, namespace) => store.list(signal, namespace),
    async replaceStatus(canary, signal) {
      check(canary.metadata.namespace, canary.metadata.name);
      return store.replaceStatus(canary, signal);
    },
    async patch(namespace, name, body, signal) {
      check(namespace, name);
      return store.patch(namespace, name, body, signal);
    },
  };
}
