/**
 * A real Prometheus (Debian's) serving generated history: the OpenMetrics file becomes TSDB blocks
 * through `promtool tsdb create-blocks-from openmetrics` in the data dir before Prometheus starts.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '../../src/core/logger.js';
import { createBlocks, writeOpenMetrics, type HistoryOptions } from '../../src/sandbox/history.js';
import { startPrometheus, type PrometheusServer } from '../../src/sandbox/prometheus.js';

export interface HistoryPrometheus {
  url: string;
  dir: string;
  /** Writes `text` to a file in the work dir and returns its path. */
  file(name: string, text: string): string;
  stop(): Promise<void>;
}

/** History that ends at the last whole hour at least an hour ago: older than Prometheus' head, inside its retention. */
export function historyEnd(now = Date.now()): number {
  return Math.floor(now / 3_600_000) * 3_600_000 - 3_600_000;
}

export async function startHistoryPrometheus(history: HistoryOptions): Promise<HistoryPrometheus> {
  const dir = mkdtempSync(join(tmpdir(), 'routeshift-replay-'));
  let prometheus: PrometheusServer | undefined;
  try {
    const om = join(dir, 'history.om');
    await writeOpenMetrics(om, history);
    await createBlocks(om, join(dir, 'data'));
    rmSync(om);
    prometheus = await startPrometheus({ dataDir: join(dir, 'data'), targets: [], logger: silentLogger() });
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  const server = prometheus;
  return {
    url: server.url,
    dir,
    file(name, text) {
      const path = join(dir, name);
      writeFileSync(path, text);
      return path;
    },
    async stop() {
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The Canary the replay tests judge: the `app` templates' success rate and p99 latency, threshold 2, 1m interval. */
export function replayCanaryYaml(o: { minSuccess?: number; maxLatencyMs?: number; interval?: string; threshold?: number; steps?: number[]; extra?: string } = {}): string {
  return `apiVersion: routeshift.io/v1alpha1
kind: Canary
metadata:
  name: web
  namespace: shop
spec:
  provider: app
  routeRef:
    name: web
  stable:
    name: web-stable
    port: 80
  canary:
    name: web-canary
    port: 80
  analysis:
    interval: ${o.interval ?? '1m'}
    threshold: ${o.threshold ?? 2}
    stepWeights: [${(o.steps ?? [5, 10, 20, 30, 50]).join(', ')}]
    metrics:
      - name: request-success-rate
        thresholdRange:
          min: ${o.minSuccess ?? 99}
      - name: request-duration
        thresholdRange:
          max: ${o.maxLatencyMs ?? 500}
${o.extra ?? ''}`;
}
