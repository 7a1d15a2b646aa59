import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';
import { CoreV1Api, KubeConfig, Watch, type CoreV1Event } from '@kubernetes/client-node';
import { CANARY_KIND, CANARY_PLURAL, GROUP, VERSION, type Canary } from '../api/canary.js';
import { errorMessage, RouteshiftError } from '../core/errors.js';
import { toKubeApiError } from '../kube/errors.js';
import { callOptions } from '../kube/options.js';
import { watchOnce } from '../kube/watch.js';
import type { EventSummary } from './render.js';

/** The flags every CLI command takes to find its cluster. */
export interface KubeFlags {
  kubeconfig?: string;
  context?: string;
  namespace?: string;
}

/** No usable kubeconfig: none found, unreadable, or without the context asked for. */
export class KubeconfigError extends RouteshiftError {
  constructor(message: string, cause?: unknown) {
    super('Kubeconfig', message, cause === undefined ? undefined : { cause });
  }
}

export interface KubeTarget {
  kubeConfig: KubeConfig;
  /** The namespace commands act in: -n, else the context's, else "default". */
  namespace: string;
  context: string;
  /** API server URL, for error messages. */
  server: string;
  /** Where the configuration came from, e.g. "--kubeconfig /x", "KUBECONFIG", "~/.kube/config", "in-cluster". */
  source: string;
}

/** What resolution reads from the machine; replaced in tests. */
export interface KubeEnvironment {
  env: Record<string, string | undefined>;
  homedir: () => string;
  exists: (path: string) => boolean;
  /** Prefix before /var/run/secrets/kubernetes.io/serviceaccount (where a pod's token is); '' in production. */
  rootPrefix: string;
}

export const processKubeEnvironment: KubeEnvironment = {
  env: process.env,
  homedir,
  exists: existsSync,
  rootPrefix: '',
};

const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

function loadFile(kc: KubeConfig, file: string, what: string): void {
  try {
    kc.loadFromFile(file);
  } catch (err) {
    throw new KubeconfigError(`cannot read kubeconfig ${file} (${what}): ${errorMessage(err)}`, err);
  }
}

/**
 * kubectl's merge of KUBECONFIG files: the first file to name a cluster, user or context wins, and so
 * does the first current-context. (client-node's mergeConfig throws on a repeated name instead.)
 */
function mergeFirstWins(kc: KubeConfig, more: KubeConfig): void {
  for (const c of more.clusters) if (!kc.clusters.some((x) => x.name === c.name)) kc.addCluster(c);
  for (const u of more.users) if (!kc.users.some((x) => x.name === u.name)) kc.addUser(u);
  for (const c of more.contexts) if (!kc.contexts.some((x) => x.name === c.name)) kc.addContext(c);
  if (!kc.currentContext && more.currentContext) kc.setCurrentContext(more.currentContext);
}

/**
 * kubectl's order: --kubeconfig, else the files in KUBECONFIG (merged, missing ones skipped), else
 * ~/.kube/config, else the pod's service account. Unlike client-node's loadFromDefault we never fall
 * back to http://localhost:8080: a CLI pointed at nothing should say so.
 */
export function resolveKube(flags: KubeFlags, machine: KubeEnvironment = processKubeEnvironment): KubeTarget {
  const kc = new KubeConfig();
  let source: string;
  const envFiles = (machine.env.KUBECONFIG ?? '').split(delimiter).filter((f) => f !== '');
  const home = join(machine.homedir(), '.kube', 'config');
  if (flags.kubeconfig) {
    if (!machine.exists(flags.kubeconfig)) throw new KubeconfigError(`kubeconfig ${flags.kubeconfig} (--kubeconfig) does not exist`);
    loadFile(kc, flags.kubeconfig, '--kubeconfig');
    source = `--kubeconfig ${flags.kubeconfig}`;
  } else if (envFiles.length > 0) {
    const present = envFiles.filter((f) => machine.exists(f));
    const [first, ...rest] = present;
    if (first === undefined) throw new KubeconfigError(`none of the files in KUBECONFIG exist: ${envFiles.join(delimiter)}`);
    loadFile(kc, first, 'KUBECONFIG');
    for (const file of rest) {
      const more = new KubeConfig();
      loadFile(more, file, 'KUBECONFIG');
      mergeFirstWins(kc, more);
    }
    source = 'KUBECONFIG';
  } else if (machine.exists(home)) {
    loadFile(kc, home, '~/.kube/config');
    source = home;
  } else if (machine.env.KUBERNETES_SERVICE_HOST && machine.exists(`${machine.rootPrefix}${SERVICE_ACCOUNT_DIR}/token`)) {
    kc.loadFromCluster(machine.rootPrefix);
    source = 'in-cluster';
  } else {
    throw new KubeconfigError('no kubeconfig found: pass --kubeconfig, set KUBECONFIG, or create ~/.kube/config');
  }

  const available = kc.getContexts().map((c) => c.name);
  if (flags.context) {
    if (!kc.getContextObject(flags.context)) {
      throw new KubeconfigError(`context "${flags.context}" is not in the kubeconfig (${source}); it has: ${available.join(', ') || 'none'}`);
    }
    kc.setCurrentContext(flags.context);
  }
  const context = kc.getCurrentContext();
  const ctx = context ? kc.getContextObject(context) : null;
  if (!ctx) {
    throw new KubeconfigError(`the kubeconfig (${source}) has no current context; pass --context (it has: ${available.join(', ') || 'none'})`);
  }
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new KubeconfigError(`context "${context}" names cluster "${ctx.cluster}", which is not in the kubeconfig (${source})`);
  return { kubeConfig: kc, namespace: flags.namespace || ctx.namespace || 'default', context, server: cluster.server, source };
}

// --- Events -------------------------------------------------------------------------------------------

export function eventFieldSelector(name: string): string {
  return `involvedObject.name=${name},involvedObject.kind=${CANARY_KIND}`;
}

/** Dates arrive as Date objects from the generated client and as strings from a watch. */
function iso(v: unknown): string | undefined {
  if (v instanceof Date) return Number.isNaN(v.getTime()) ? undefined : v.toISOString();
  if (typeof v === 'string' && v !== '') {
    const t = Date.parse(v);
    return Number.isNaN(t) ? v : new Date(t).toISOString();
  }
  return undefined;
}

/** Raw Event JSON (or the client's CoreV1Event) to the CLI's summary. */
export function summarizeEvent(e: CoreV1Event | Record<string, unknown>): EventSummary {
  const ev = e as {
    metadata?: { name?: string; creationTimestamp?: unknown };
    type?: string;
    reason?: string;
    message?: string;
    count?: number;
    firstTimestamp?: unknown;
    lastTimestamp?: unknown;
    eventTime?: unknown;
    series?: { count?: number; lastObservedTime?: unknown };
    involvedObject?: { uid?: string };
  };
  const first = iso(ev.firstTimestamp) ?? iso(ev.eventTime) ?? iso(ev.metadata?.creationTimestamp);
  const last = iso(ev.series?.lastObservedTime) ?? iso(ev.lastTimestamp) ?? iso(ev.eventTime) ?? first;
  return {
    name: ev.metadata?.name ?? '',
    type: ev.type ?? 'Normal',
    reason: ev.reason ?? '',
    message: ev.message ?? '',
    count: ev.series?.count ?? ev.count ?? 1,
    ...(first ? { firstTimestamp: first } : {}),
    ...(last ? { lastTimestamp: last } : {}),
    ...(ev.involvedObject?.uid ? { involvedUid: ev.involvedObject.uid } : {}),
  };
}

export interface EventReader {
  /** The Events about one Canary (by name and kind), and the list's resourceVersion to watch from. */
  list(namespace: string, name: string, signal: AbortSignal): Promise<{ items: EventSummary[]; resourceVersion: string }>;
}

export function kubeEventReader(kc: KubeConfig): EventReader {
  const api = kc.makeApiClient(CoreV1Api);
  return {
    async list(namespace, name, signal) {
      try {
        const res = await api.listNamespacedEvent({ namespace, fieldSelector: eventFieldSelector(name) }, callOptions(signal));
        return { items: res.items.map(summarizeEvent), resourceVersion: res.metadata?.resourceVersion ?? '' };
      } catch (err) {
        throw toKubeApiError(err, `list Events of Canary ${namespace}/${name}`);
      }
    },
  };
}

// --- watches ------------------------------------------------------------------------------------------

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED';

/** Streams for `watch`. Each call resolves when the server ends the stream and rejects (KubeApiError) on an error. */
export interface WatchSource {
  canary(namespace: string, name: string, resourceVersion: string, onEvent: (type: WatchEventType, canary: Canary) => void, signal: AbortSignal): Promise<void>;
  events(namespace: string, name: string, resourceVersion: string, onEvent: (type: WatchEventType, event: EventSummary) => void, signal: AbortSignal): Promise<void>;
}

/** Server-side bound on one watch request; `watch` reopens from the last resourceVersion after it. */
const WATCH_TIMEOUT_SECONDS = 300;

/** Object changes only: BOOKMARK lines carry no object we show. */
const isChange = (type: string): type is WatchEventType => type === 'ADDED' || type === 'MODIFIED' || type === 'DELETED';

export function kubeWatchSource(kc: KubeConfig): WatchSource {
  const watch = new Watch(kc);
  return {
    canary(namespace, name, resourceVersion, onEvent, signal) {
      return watchOnce(
        watch,
        `/apis/${GROUP}/${VERSION}/namespaces/${namespace}/${CANARY_PLURAL}`,
        { fieldSelector: `metadata.name=${name}`, resourceVersion, timeoutSeconds: WATCH_TIMEOUT_SECONDS },
        `watch Canary ${namespace}/${name}`,
        (type, obj) => {
          if (isChange(type)) onEvent(type, obj as unknown as Canary);
        },
        signal,
      );
    },
    events(namespace, name, resourceVersion, onEvent, signal) {
      return watchOnce(
        watch,
        `/api/v1/namespaces/${namespace}/events`,
        { fieldSelector: eventFieldSelector(name), resourceVersion, timeoutSeconds: WATCH_TIMEOUT_SECONDS },
        `watch Events of Canary ${namespace}/${name}`,
        (type, obj) => {
          if (isChange(type)) onEvent(type, summarizeEvent(obj));
        },
        signal,
      );
    },
  };
}
