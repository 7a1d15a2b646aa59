/**
 * Which shard a Canary falls in, and which replica should own each shard. Pure functions: every
 * replica computes the same answer from the same inputs, with no coordination beyond the Leases.
 */

/** FNV-1a over the UTF-16 code units, then murmur3's finalizer so that similar strings spread. */
export function hash32(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** The shard of a Canary key (`namespace/name`): fixed for a fixed shard count, whoever the replicas are. */
export function shardOf(key: string, shards: number): number {
  return hash32(key) % shards;
}

/**
 * Rendezvous (highest random weight) hashing: each shard goes to the member scoring highest for it.
 * A member joining takes about 1/n of the shards from the others, and a member leaving hands only its
 * own shards over, so a change of membership moves as few canaries as possible.
 */
export function assignShards(shards: number, members: readonly string[]): string[] {
  const sorted = [...new Set(members)].sort();
  const owners: string[] = [];
  for (let s = 0; s < shards; s++) {
    let best = '';
    let bestScore = -1;
    for (const m of sorted) {
      const score = hash32(`${m}#${s}`);
      if (score > bestScore) {
        best = m;
        bestScore = score;
      }
    }
    owners.push(best);
  }
  return owners;
}

/** A Lease name from a replica identity (a DNS subdomain: lower case, digits, '-' and '.'). */
export function memberLeaseName(prefix: string, identity: string): string {
  const safe = identity.toLowerCase().replace(/[^a-z0-9.-]+/g, '-').replace(/^[^a-z0-9]+|[^a-z0-9]+$/g, '');
  // Two identities that differ only in what was replaced must still get two Leases.
  const suffix = safe === identity ? '' : `-${hash32(identity).toString(16)}`;
  return `${prefix}-member-${safe.slice(0, 200)}${suffix}`.replace(/-+$/, '');
}
