import { describe, expect, it } from '@jest/globals';
import type { Canary } from '../api/canary.js';
import type { CanaryStore } from './canary-store.js';
import { fencedStore, ShardNotHeldError } from './shard-fence.js';

const canary = (name: string): Canary => ({ apiVersion: 'routeshift.io/v1alpha1', kind: 'Canary', metadata: { name, namespace: 'ns' } }) as Canary;

function recording(): CanaryStore & { writes: string[] } {
  const writes: string[] = [];
  return {
    writes,
    get: async (_ns, name) => canary(name),
    list: async () => ({ items: [] }),
    replaceStatus: async (c) => (writes.push(`status ${c.metadata.name}`), c),
    patch: async (_ns, name) => (writes.push(`patch ${name}`), canary(name)),
  };
}

describe('fencedStore', () => {
  it('lets writes through only for canaries this replica acts on, asking at each write', async () => {
    const inner = recording();
    let held = true;
    const store = fencedStore(inner, (k) => held && k === 'ns/mine');
    const signal = new AbortController().signal;
    await store.replaceStatus(canary('mine'), signal);
    await store.patch('ns', 'mine', {}, signal);
    await expect(store.replaceStatus(canary('theirs'), signal)).rejects.toBeInstanceOf(ShardNotHeldError);
    held = false;
    const err = await store.replaceStatus(canary('mine'), signal).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ShardNotHeldError);
    expect((err as ShardNotHeldError).code).toBe('ShardNotHeld');
    await expect(store.patch('ns', 'mine', {}, signal)).rejects.toBeInstanceOf(ShardNotHeldError);
    expect(inner.writes).toEqual(['status mine', 'patch mine']);
    expect((await store.get('ns', 'theirs', signal)).metadata.name).toBe('theirs');
  });
});
