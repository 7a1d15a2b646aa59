import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { InvalidSpecError } from '../core/errors.js';
import { parseDuration } from '../core/duration.js';
import type { AlertSpec, MeshProvider, NoDataPolicy } from '../api/canary.js';
import { DEFAULT_OUTBOUND, outboundProblems, type OutboundSpec } from '../hooks/outbound.js';
import type { CrossNamespacePolicy } from './reference-grants.js';

/** The controller's configuration file (deploy/base/config.yaml); docs/configuration.md lists every field. */
export interface ControllerConfig {
  prometheus: {
    address: string;
    timeout: string;
    retries: number;
    bearerToken?: string;
    bearerTokenFile?: string;
    basicAuth?: { username: string; password?: string; passwordFile?: string };
    headers?: Record<string, string>;
    caFile?: string;
    insecureSkipVerify?: boolean;
    /** Batch the queries of ticks starting within this window into one request (e.g. 50ms); unset: one request per query. */
    batchWindow?: string;
    /** PromQL tenancy: every selector of a Canary's queries gets `<label>="<the Canary's namespace>"` (e.g. `namespace`). */
    enforceNamespaceLabel?: string;
  };
  defaults: { provider: MeshProvider; noData: NoDataPolicy; errorsBeforeFailure: number };
  templates: { dirs: string[] };
  watch: { namespaces: string[]; labelSelector?: string };
  leaderElection: { enabled: boolean; namespace: string; name: string; leaseDuration: string; renewDeadline: string; retryPeriod: string };
  /** 0: one leader acts on every canary. N > 0 (with leader election): canaries hashed over N shards, one Lease each, spread over the replicas. */
  sharding: { shards: number };
  route: { controllerName?: string };
  server: { port: number; host: string };
  logLevel: 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'silent';
  concurrency: number;
  alerts: AlertSpec[];
  /** Where webhooks and alerts may send requests (docs/security.md). */
  outbound: OutboundSpec;
  /** `grant`: a Canary may name objects in other namespaces that grant it (ReferenceGrant); `forbid`: never. */
  references: { crossNamespace: CrossNamespacePolicy };
  /** The native load source (docs/webhooks.md#traffic-for-quiet-services): requests per second it may send. */
  load: { maxRpsPerCanary: number; maxRps: number };
  /**
   * advanceWindow: one WeightAdvanced Event covers the steps a canary takes within it, when its analysis
   * interval is shorter (docs/events.md#weightadvanced); `0s`: every step its own Event at once.
   */
  events: { advanceWindow: string };
}

export const DEFAULT_CONFIG: ControllerConfig = {
  prometheus: { address: 'http://prometheus.istio-system:9090', timeout: '5s', retries: 2 },
  defaults: { provider: 'istio', noData: 'hold', errorsBeforeFailure: 2 },
  templates: { dirs: [] },
  watch: { namespaces: [] },
  leaderElection: { enabled: true, namespace: 'routeshift-system', name: 'routeshift-leader', leaseDuration: '15s', renewDeadline: '10s', retryPeriod: '2s' },
  sharding: { shards: 0 },
  route: {},
  server: { port: 8080, host: '0.0.0.0' },
  logLevel: 'info',
  concurrency: 64,
  alerts: [],
  outbound: DEFAULT_OUTBOUND,
  references: { crossNamespace: 'grant' },
  load: { maxRpsPerCanary: 50, maxRps: 200 },
  events: { advanceWindow: '60s' },
};

const ENV: Array<[string, (c: ControllerConfig, v: string) => void]> = [
  ['ROUTESHIFT_PROMETHEUS_ADDRESS', (c, v) => (c.prometheus.address = v)],
  ['ROUTESHIFT_PROMETHEUS_TOKEN', (c, v) => (c.prometheus.bearerToken = v)],
  ['ROUTESHIFT_PROVIDER', (c, v) => (c.defaults.provider = v as MeshProvider)],
  ['ROUTESHIFT_LOG_LEVEL', (c, v) => (c.logLevel = v as ControllerConfig['logLevel'])],
  ['ROUTESHIFT_NAMESPACES', (c, v) => (c.watch.namespaces = v.split(',').map((s) => s.trim()).filter(Boolean))],
  ['ROUTESHIFT_LABEL_SELECTOR', (c, v) => (c.watch.labelSelector = v)],
  ['ROUTESHIFT_METRICS_PORT', (c, v) => (c.server.port = Number(v))],
  ['ROUTESHIFT_LEADER_ELECTION', (c, v) => (c.leaderElection.enabled = v !== 'false')],
  ['ROUTESHIFT_SHARDS', (c, v) => (c.sharding.shards = Number(v))],
  ['ROUTESHIFT_OUTBOUND_ALLOW', (c, v) => (c.outbound.allow = [...c.outbound.allow, ...splitList(v)])],
  ['POD_NAMESPACE', (c, v) => (c.leaderElection.namespace = v)],
];

/** A comma-separated list (an environment variable or a flag), blanks dropped. */
export function splitList(v: string): string[] {
  return v.split(',').map((s) => s.trim()).filter(Boolean);
}

function merge<T>(base: T, over: unknown, path: string, problems: Array<{ path: string; message: string }>): T {
  if (over === undefined || over === null) return base;
  if (typeof base !== 'object' || base === null || Array.isArray(base)) return over as T;
  if (typeof over !== 'object' || Array.isArray(over)) {
    problems.push({ path, message: 'must be a mapping' });
    return base;
  }
  const out: Record<string, unknown> = { ...(base as Record<string, unknown>) };
  const known = new Set(Object.keys(base as object));
  const open = new Set(['prometheus', 'route', 'watch', 'headers', 'basicAuth']);
  for (const [k, v] of Object.entries(over as Record<string, unknown>)) {
    if (!known.has(k) && !open.has(path.split('.').pop() ?? '')) problems.push({ path: path ? `${path}.${k}` : k, message: 'unknown field' });
    out[k] = merge((base as Record<string, unknown>)[k], v, path ? `${path}.${k}` : k, problems);
  }
  return out as T;
}

/** Loads file (optional) + environment overrides, and validates; throws InvalidSpecError listing every problem. */
export function loadConfig(file: string | undefined, env: NodeJS.ProcessEnv = process.env, overrides: Partial<ControllerConfig> = {}, allowOutbound: string[] = []): ControllerConfig {
  const problems: Array<{ path: string; message: string }> = [];
  let raw: unknown = {};
  if (file) {
    try {
      raw = parseYaml(readFileSync(file, 'utf8')) ?? {};
    } catch (err) {
      throw new InvalidSpecError([{ path: file, message: `cannot read config: ${(err as Error).message}` }]);
    }
  }
  const config = merge(structuredClone(DEFAULT_CONFIG), raw, '', problems);
  for (const [name, apply] of ENV) {
    const v = env[name];
    if (v !== undefined && v !== '') apply(config, v);
  }
  Object.assign(config, overrides);
  // Added before validation so a bad entry in --allow-outbound is reported like one in the file.
  if (allowOutbound.length) config.outbound = { ...config.outbound, allow: [...config.outbound.allow, ...allowOutbound] };
  problems.push(...validateConfig(config));
  if (problems.length) throw new InvalidSpecError(problems);
  return config;
}

export function validateConfig(c: ControllerConfig): Array<{ path: string; message: string }> {
  const problems: Array<{ path: string; message: string }> = [];
  try {
    const u = new URL(c.prometheus.address);
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error('scheme');
  } catch {
    problems.push({ path: 'prometheus.address', message: `"${c.prometheus.address}" is not an http(s) URL` });
  }
  const durations: Array<[string, string]> = [
    ['prometheus.timeout', c.prometheus.timeout],
    ['leaderElection.leaseDuration', c.leaderElection.leaseDuration],
    ['leaderElection.renewDeadline', c.leaderElection.renewDeadline],
    ['leaderElection.retryPeriod', c.leaderElection.retryPeriod],
    ...(c.prometheus.batchWindow !== undefined ? ([['prometheus.batchWindow', c.prometheus.batchWindow]] as Array<[string, string]>) : []),
  ];
  for (const [path, v] of durations) {
    try {
      parseDuration(String(v), path);
    } catch (err) {
      problems.push({ path, message: (err as Error).message });
    }
  }
  if (!['istio', 'linkerd', 'cilium', 'kuma', 'traefik', 'app'].includes(c.defaults.provider)) problems.push({ path: 'defaults.provider', message: `unknown provider "${c.defaults.provider}" (istio, linkerd, cilium, kuma, traefik, app)` });
  if (!['hold', 'fail', 'pass'].includes(c.defaults.noData)) problems.push({ path: 'defaults.noData', message: 'must be hold, fail or pass' });
  const ebf = c.defaults.errorsBeforeFailure;
  if (!Number.isInteger(ebf) || ebf < 1 || ebf > 100) problems.push({ path: 'defaults.errorsBeforeFailure', message: 'must be a whole number, 1..100' });
  if (!['trace', 'debug', 'info', 'warn', 'error', 'silent'].includes(c.logLevel)) problems.push({ path: 'logLevel', message: `unknown level "${c.logLevel}"` });
  if (!Number.isInteger(c.server.port) || c.server.port < 0 || c.server.port > 65535) problems.push({ path: 'server.port', message: 'must be 0..65535' });
  if (!Number.isInteger(c.concurrency) || c.concurrency < 1) problems.push({ path: 'concurrency', message: 'must be a positive integer' });
  if (!Number.isInteger(c.prometheus.retries) || c.prometheus.retries < 0) problems.push({ path: 'prometheus.retries', message: 'must be >= 0' });
  problems.push(...outboundProblems(c.outbound));
  const label = c.prometheus.enforceNamespaceLabel;
  if (label !== undefined && (typeof label !== 'string' || !/^[a-zA-Z_][a-zA-Z0-9_]*$/.test(label))) problems.push({ path: 'prometheus.enforceNamespaceLabel', message: `"${String(label)}" is not a Prometheus label name` });
  const shards = c.sharding.shards;
  if (!Number.isInteger(shards) || shards < 0 || shards > 1024) problems.push({ path: 'sharding.shards', message: 'must be a whole number, 0..1024 (0: no sharding)' });
  if (!['grant', 'forbid'].includes(c.references.crossNamespace)) problems.push({ path: 'references.crossNamespace', message: 'must be grant or forbid' });
  problems.push(...loadProblems(c.load));
  try {
    advanceWindowMs(c.events.advanceWindow);
  } catch (err) {
    problems.push({ path: 'events.advanceWindow', message: (err as Error).message });
  }
  return problems;
}

/** Longest events.advanceWindow: a step announced later than this is news no one can act on. */
const MAX_ADVANCE_WINDOW_MS = 10 * 60_000;

/** events.advanceWindow in ms; `0s` (or `0`): no folding. Throws a clear error for anything but a duration up to 10m. */
export function advanceWindowMs(value: string): number {
  const text = String(value).trim();
  if (/^0+(?:\.0+)?(?:ms|s|m|h)?$/.test(text)) return 0;
  let ms: number;
  try {
    ms = parseDuration(text, 'events.advanceWindow');
  } catch {
    throw new Error(`"${String(value)}" is not a duration (use e.g. 60s, 2m, or 0s to write every step's Event at once)`);
  }
  if (ms > MAX_ADVANCE_WINDOW_MS) throw new Error(`"${text}" is longer than 10m`);
  return ms;
}

/** The load source's caps: positive rates, the per-canary one within the controller-wide one. */
export function loadProblems(load: ControllerConfig['load']): Array<{ path: string; message: string }> {
  const problems: Array<{ path: string; message: string }> = [];
  const rate = (v: unknown): boolean => typeof v === 'number' && Number.isFinite(v) && v > 0;
  if (!rate(load.maxRps)) problems.push({ path: 'load.maxRps', message: 'must be a number of requests per second above 0' });
  if (!rate(load.maxRpsPerCanary)) problems.push({ path: 'load.maxRpsPerCanary', message: 'must be a number of requests per second above 0' });
  else if (rate(load.maxRps) && load.maxRpsPerCanary > load.maxRps) problems.push({ path: 'load.maxRpsPerCanary', message: `must not exceed load.maxRps (${load.maxRps})` });
  return problems;
}
