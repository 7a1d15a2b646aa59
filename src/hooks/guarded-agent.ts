import { lookup as dnsLookup, type LookupAddress, type LookupAllOptions } from 'node:dns';
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import type { LookupFunction } from 'node:net';
import { OutboundRefusedError } from './errors.js';
import type { OutboundPolicy } from './outbound.js';

export interface GuardedAgents {
  http: HttpAgent;
  https: HttpsAgent;
}

/**
 * The check runs inside the socket's own DNS lookup, on the addresses it is about to connect to, so a name
 * that resolved to a public address when a Canary was written and to 127.0.0.1 now (DNS rebinding) is
 * still refused. Address literals skip lookup in Node, which is why postJson checks them before connecting.
 */
export function guardedLookup(policy: OutboundPolicy, resolve: typeof dnsLookup = dnsLookup): LookupFunction {
  return (hostname, options, callback) => {
    const all: LookupAllOptions = { ...(options as object), all: true };
    resolve(hostname, all, (err: NodeJS.ErrnoException | null, addresses: LookupAddress[]) => {
      if (err) return callback(err, '', 4);
      const why = policy.refuseResolved(hostname, addresses.map((a) => a.address));
      if (why) return callback(new OutboundRefusedError(why) as unknown as NodeJS.ErrnoException, '', 4);
      if ((options as { all?: boolean }).all) return (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, addresses);
      const first = addresses[0] as LookupAddress;
      callback(null, first.address, first.family);
    });
  };
}

const cache = new WeakMap<OutboundPolicy, GuardedAgents>();

/** One pair of agents per policy; no keep-alive, so every request resolves (and is checked) again. */
export function guardedAgents(policy: OutboundPolicy): GuardedAgents {
  let agents = cache.get(policy);
  if (!agents) {
    const lookup = guardedLookup(policy);
    agents = { http: new HttpAgent({ keepAlive: false, lookup }), https: new HttpsAgent({ keepAlive: false, lookup }) };
    cache.set(policy, agents);
  }
  return agents;
}
