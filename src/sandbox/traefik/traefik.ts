import { execFileSync } from 'node:child_process';
import { accessSync, constants as fsConstants, readFileSync } from 'node:fs';
import http from 'node:http';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { RouteshiftError } from '../../core/errors.js';
import { fromRoot } from '../../core/paths.js';
import { Child } from '../controlplane/child.js';
import { waitUntil } from '../controlplane/wait.js';

/** Traefik's Gateway API controller name: the `status.parents[].controllerName` it writes. */
export const TRAEFIK_CONTROLLER_NAME = 'traefik.io/gateway-controller';

export class TraefikMissingError extends RouteshiftError {
  constructor(detail: string) {
    super(
      'TraefikMissing',
      `${detail}. Build it with \`bash scripts/traefik/build.sh\` (needs Go >= 1.25 and the Go module proxy), ` +
        'or set ROUTESHIFT_TRAEFIK_BINARY to a traefik executable.',
    );
  }
}

/** The release scripts/traefik/version.sh pins (the one place it is written). */
export function pinnedTraefikVersion(): string {
  const m = /^TRAEFIK_VERSION=(\S+)$/m.exec(readFileSync(fromRoot('scripts/traefik/version.sh'), 'utf8'));
  if (!m?.[1]) throw new RouteshiftError('TraefikVersion', 'scripts/traefik/version.sh names no TRAEFIK_VERSION');
  return m[1];
}

/** ROUTESHIFT_TRAEFIK_BINARY, else where build.sh puts it; throws TraefikMissingError when absent. */
export function findTraefikBinary(env: NodeJS.ProcessEnv = process.env): string {
  const fromEnv = env['ROUTESHIFT_TRAEFIK_BINARY']?.trim();
  const base = env['ROUTESHIFT_CACHE'] ?? join(env['XDG_CACHE_HOME'] ?? join(homedir(), '.cache'), 'routeshift');
  const path = fromEnv || join(base, 'traefik', pinnedTraefikVersion(), 'traefik');
  try {
    accessSync(path, fsConstants.X_OK);
  } catch {
    throw new TraefikMissingError(`traefik not found at ${path}${fromEnv ? ' (ROUTESHIFT_TRAEFIK_BINARY)' : ''}`);
  }
  return path;
}

/** `traefik version`'s Version line, e.g. "v3.6.12". */
export function traefikBinaryVersion(binary: string): string {
  const text = execFileSync(binary, ['version'], { encoding: 'utf8', timeout: 10_000 });
  return /^Version:\s*(\S+)/m.exec(text)?.[1] ?? text.trim();
}

export interface TraefikOptions {
  binary?: string;
  /** https://host:port of the API server. */
  apiServer: string;
  token: string;
  /** CA bundle the API server's certificate chains to. */
  caFile: string;
  /** Port of entry point `web` (the Gateway's listener port must be the same). */
  webPort: number;
  /** Port of entry point `traefik`: /ping and /metrics. */
  adminPort: number;
  /** Bind address of both entry points. Default 127.0.0.1. */
  host?: string;
  logFile: string;
}

export interface Traefik {
  webUrl: string;
  metricsUrl: string;
  logFile: string;
  stop(): Promise<void>;
}

/**
 * Traefik as a Gateway API data plane outside a cluster: the kubernetesgateway provider with an
 * endpoint, a bearer token and the API server's CA, Prometheus metrics on the admin entry point.
 */
export async function startTraefik(opts: TraefikOptions): Promise<Traefik> {
  const host = opts.host ?? '127.0.0.1';
  const child = new Child(
    'traefik',
    opts.binary ?? findTraefikBinary(),
    [
      `--entryPoints.web.address=${host}:${opts.webPort}`,
      `--entryPoints.traefik.address=${host}:${opts.adminPort}`,
      '--providers.kubernetesgateway=true',
      `--providers.kubernetesgateway.endpoint=${opts.apiServer}`,
      `--providers.kubernetesgateway.token=${opts.token}`,
      `--providers.kubernetesgateway.certAuthFilePath=${opts.caFile}`,
      '--metrics.prometheus=true',
      '--metrics.prometheus.entryPoint=traefik',
      '--ping=true',
      '--ping.entryPoint=traefik',
      '--log.level=INFO',
      '--global.checkNewVersion=false',
      '--global.sendAnonymousUsage=false',
    ],
    opts.logFile,
  );
  const admin = `http://${host}:${opts.adminPort}`;
  try {
    await waitUntil('traefik /ping', async () => (await getText(`${admin}/ping`)).status === 200, { timeoutMs: 30_000, child });
  } catch (err) {
    await child.stop();
    throw err;
  }
  return { webUrl: `http://${host}:${opts.webPort}`, metricsUrl: `${admin}/metrics`, logFile: opts.logFile, stop: () => child.stop() };
}

export function getText(url: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { headers, timeout: 5000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.on('timeout', () => req.destroy(new Error(`GET ${url} timed out`)));
  });
}

/** `traefik_service_requests_total` summed per service label (over code, method, protocol). */
export function serviceRequests(metricsText: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of metricsText.split('\n')) {
    if (!line.startsWith('traefik_service_requests_total{')) continue;
    const service = /[{,]service="([^"]*)"/.exec(line)?.[1];
    const value = Number(line.slice(line.lastIndexOf(' ') + 1));
    if (service !== undefined && Number.isFinite(value)) out.set(service, (out.get(service) ?? 0) + value);
  }
  return out;
}
