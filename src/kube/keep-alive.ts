import { createHash } from 'node:crypto';
import type { Agent } from 'node:http';
import type { KubeConfig } from '@kubernetes/client-node';

/**
 * client-node 1.4 builds a new http(s).Agent for every request (KubeConfig.createAgent, called from
 * applySecurityAuthentication), so every API call opens a fresh TCP (and TLS) connection. At a thousand
 * canaries that was most of a tick's time (docs/benchmarks.md). This makes one KubeConfig hand out one
 * keep-alive agent per distinct set of agent options, so connections are reused.
 *
 * Agents are keyed by the cluster and a digest of the TLS material: credentials that rotate (an exec plugin
 * issuing a new client certificate, a rewritten CA file) get a new agent rather than an old connection.
 */

type AgentFactory = (cluster: unknown, options: Record<string, unknown>) => Agent;

const PATCHED = Symbol('routeshift.keepAlive');
/** Agents kept per KubeConfig; more distinct keys than this means the material changes every call. */
const MAX_AGENTS = 8;

/** Options that change what a connection is, in a stable order (values are strings, Buffers or booleans). */
const KEYED = ['ca', 'cert', 'key', 'pfx', 'passphrase', 'rejectUnauthorized', 'servername'] as const;

function agentKey(cluster: unknown, options: Record<string, unknown>): string {
  const c = cluster as { server?: string; proxyUrl?: string; skipTLSVerify?: boolean } | null | undefined;
  const h = createHash('sha256');
  h.update(`${c?.server ?? ''}\0${c?.proxyUrl ?? ''}\0${String(c?.skipTLSVerify ?? '')}`);
  for (const k of KEYED) {
    const v = options[k];
    h.update(`\0${k}=`);
    if (v === undefined) continue;
    if (Buffer.isBuffer(v) || typeof v === 'string') h.update(v);
    else h.update(JSON.stringify(v));
  }
  return h.digest('hex');
}

/** Makes `kc` reuse connections. Idempotent; returns `kc`. */
export function withKeepAlive(kc: KubeConfig): KubeConfig {
  const target = kc as unknown as { createAgent?: AgentFactory; [PATCHED]?: boolean };
  if (target[PATCHED] || typeof target.createAgent !== 'function') return kc;
  const create = target.createAgent.bind(kc);
  const agents = new Map<string, Agent>();
  target.createAgent = (cluster, options) => {
    const k = agentKey(cluster, options);
    const known = agents.get(k);
    if (known) return known;
    const agent = create(cluster, { ...options, keepAlive: true, keepAliveMsecs: 30_000, scheduling: 'lifo' });
    if (agents.size >= MAX_AGENTS) {
      const [oldest, old] = agents.entries().next().value as [string, Agent];
      agents.delete(oldest);
      // Requests may still be using it: close its connections once they have surely finished.
      setTimeout(() => old.destroy(), 60_000).unref();
    }
    agents.set(k, agent);
    return agent;
  };
  target[PATCHED] = true;
  return kc;
}
