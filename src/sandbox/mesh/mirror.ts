import http from 'node:http';
import { performance } from 'node:perf_hooks';
import type { HeaderMap } from './header-filters.js';
import type { MirrorTarget } from './mesh-config.js';
import type { MeshMetrics } from './metrics.js';

/** Envoy marks a shadow request by appending `-shadow` to its host (before the port). */
export function shadowHost(host: string | undefined): string | undefined {
  if (host === undefined) return undefined;
  const m = /^(.*?)(:\d+)?$/.exec(host);
  return m ? `${m[1]}-shadow${m[2] ?? ''}` : `${host}-shadow`;
}

/** Counts mirrored requests in flight, so a test can wait until every copy has been answered. */
export class MirrorTracker {
  private inFlight = 0;
  private waiters: Array<() => void> = [];

  begin(): void {
    this.inFlight++;
  }

  end(): void {
    this.inFlight = Math.max(0, this.inFlight - 1);
    if (this.inFlight === 0) for (const w of this.waiters.splice(0)) w();
  }

  idle(): Promise<void> {
    return this.inFlight === 0 ? Promise.resolve() : new Promise((resolve) => this.waiters.push(resolve));
  }
}

export interface MirrorDeps {
  agent: http.Agent;
  metrics: MeshMetrics;
  tracker: MirrorTracker;
}

/**
 * Starts one fire-and-forget copy of a request; the caller writes the body into the returned
 * request. The answer is read and dropped; only the mirror workload's metrics see it. A copy that
 * cannot connect leaves no sample, as in Istio (no source sample for shadows, and no destination
 * sidecar reached).
 */
export function startMirror(
  deps: MirrorDeps,
  target: MirrorTarget,
  req: { method: string; path: string; headers: HeaderMap; source: { workload: string; namespace: string } },
): http.ClientRequest {
  const started = performance.now();
  const headers: HeaderMap = { ...req.headers, host: shadowHost(req.headers['host'] as string | undefined) };
  deps.tracker.begin();
  let finished = false;
  const finish = (): void => {
    if (finished) return;
    finished = true;
    deps.tracker.end();
  };
  const out = http.request({
    host: target.endpoint.address,
    port: target.endpoint.port,
    method: req.method,
    path: req.path,
    headers: headers as http.OutgoingHttpHeaders,
    agent: deps.agent,
  });
  out.on('response', (res) => {
    res.resume();
    res.on('end', () => {
      deps.metrics.record({
        source: req.source,
        destination: target.destination,
        workload: target.endpoint.workload,
        responseCode: res.statusCode ?? 502,
        flag: '-',
        durationMs: performance.now() - started,
        mirrored: true,
      });
      finish();
    });
  });
  out.on('error', finish);
  out.on('close', finish);
  return out;
}
