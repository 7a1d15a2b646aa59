import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Canary } from '../api/canary.js';
import { silentLogger } from '../core/logger.js';
import { startSandbox, type Sandbox } from '../sandbox/sandbox.js';
import { demoCanary, NS, seedObjects } from '../sandbox/seed.js';
import { ERROR_RATE_ANNOTATION, LATENCY_ANNOTATION } from '../sandbox/workloads/faults.js';
import { startControllerChild, waitReady, type ControllerChild } from './controller-process.js';
import { KubeHttp } from './kube-http.js';

/**
 * Detection: how long from a canary turning bad to the stable holding all the traffic, on the full
 * sandbox (mesh proxy, echo workloads, load, real Prometheus). A healthy canary is rolled out on the
 * seed route; once it is at weight >= 25 its Deployment is given a fault (every request 500, or
 * 800 ms of latency against a 500 ms p99 limit), and the clock runs until the route's canary weight
 * is 0 and then until the rollout has ended (Failed).
 */

export type DetectionCase = '5xx' | 'p99';

export interface DetectionResult {
  fault: DetectionCase;
  run: number;
  intervalSec: number;
  threshold: number;
  /** Fault applied -> route patched to canary 0 (s). */
  toRouteSec: number | undefined;
  /** Fault applied -> phase Failed (route status confirmed by the mesh) (s). */
  toFailedSec: number | undefined;
  /** Canary weight when the fault was applied. */
  atWeight: number;
  /** How long after the step to that weight the fault was applied (s): where in the interval it fell. */
  offsetSec: number;
  failedChecks: number | undefined;
  outcome: string;
}

export interface DetectionOptions {
  runsPerCase?: number;
  intervalSec?: number;
  threshold?: number;
  log?: (line: string) => void;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export async function runDetection(o: DetectionOptions = {}): Promise<DetectionResult[]> {
  const log = o.log ?? (() => {});
  const runs = o.runsPerCase ?? 3;
  const intervalSec = o.intervalSec ?? 10;
  const threshold = o.threshold ?? 2;
  const workDir = mkdtempSync(join(tmpdir(), 'routeshift-detect-'));
  let sb: Sandbox | undefined;
  let controller: ControllerChild | undefined;
  let client: KubeHttp | undefined;
  const results: DetectionResult[] = [];
  try {
    sb = await startSandbox({ logger: silentLogger(), dir: workDir, rps: 40 });
    client = new KubeHttp(sb.api.url);
    const k = client;
    for (const obj of seedObjects()) await createObject(k, obj);
    controller = await startControllerChild({ kubeconfigPath: sb.kubeconfigPath, prometheusUrl: sb.prometheus.url, workDir, namespace: NS });
    if ((await waitReady(controller, 60_000)) === undefined) throw new Error('controller did not become ready');
    const deployment = `/apis/apps/v1/namespaces/${NS}/deployments/backend-v2`;
    const setFault = (annotations: Record<string, string>): Promise<unknown> =>
      k.ok('PATCH', deployment, { spec: { template: { metadata: { annotations } } } }, 'application/merge-patch+json');
    const canaryPath = `/apis/routeshift.io/v1alpha1/namespaces/${NS}/canaries`;
    const routePath = `/apis/gateway.networking.k8s.io/v1/namespaces/${NS}/httproutes/backend-split`;
    const canaryWeight = async (): Promise<number> => {
      const r = await k.ok<{ spec: { rules: Array<{ backendRefs: Array<{ name: string; weight?: number }> }> } }>('GET', routePath);
      return r.spec.rules[0]?.backendRefs.find((b) => b.name === 'backend-v2')?.weight ?? -1;
    };
    let n = 0;
    for (const fault of ['5xx', 'p99'] as const) {
      for (let run = 1; run <= runs; run++) {
        n++;
        const name = `detect-${n}`;
        const c: Canary = demoCanary({ interval: `${intervalSec}s`, threshold, window: '20s', stepWeights: [10, 25, 50, 75] });
        c.metadata.name = name;
        await k.ok('POST', canaryPath, c);
        const phase = async (): Promise<Canary> => k.ok<Canary>('GET', `${canaryPath}/${name}`);
        let cur = await phase();
        const until = Date.now() + 120_000;
        while (!((cur.status?.canaryWeight ?? 0) >= 25 && cur.status?.phase === 'Progressing') && Date.now() < until) {
          if (cur.status?.phase === 'Failed' || cur.status?.phase === 'Invalid') break;
          await sleep(200);
          cur = await phase();
        }
        const atWeight = cur.status?.canaryWeight ?? 0;
        // Runs spread the fault over the interval: right after the step, a third and two thirds into it.
        const offsetSec = (((run - 1) % 3) * intervalSec) / 3;
        if (cur.status?.phase !== 'Progressing') {
          results.push({ fault, run, intervalSec, threshold, toRouteSec: undefined, toFailedSec: undefined, atWeight, offsetSec, failedChecks: undefined, outcome: `did not reach weight 25 healthy (phase ${cur.status?.phase})` });
        } else {
          const stepAt = Date.parse(cur.status?.stepStartTime ?? '') || Date.now();
          await sleep(Math.max(0, stepAt + offsetSec * 1000 - Date.now()));
          await setFault(fault === '5xx' ? { [ERROR_RATE_ANNOTATION]: '1' } : { [LATENCY_ANNOTATION]: '800' });
          const t0 = Date.now();
          let toRoute: number | undefined;
          let toFailed: number | undefined;
          const end = t0 + 180_000;
          while (Date.now() < end && toFailed === undefined) {
            if (toRoute === undefined && (await canaryWeight()) === 0) toRoute = Date.now() - t0;
            cur = await phase();
            if (cur.status?.phase === 'Failed') toFailed = Date.now() - t0;
            else if (cur.status?.phase === 'Succeeded') break;
            await sleep(100);
          }
          if (toRoute === undefined && (await canaryWeight()) === 0) toRoute = Date.now() - t0;
          results.push({
            fault,
            run,
            intervalSec,
            threshold,
            toRouteSec: toRoute === undefined ? undefined : toRoute / 1000,
            toFailedSec: toFailed === undefined ? undefined : toFailed / 1000,
            atWeight,
            offsetSec,
            failedChecks: cur.status?.failedChecks,
            outcome: cur.status?.phase ?? 'unknown',
          });
        }
        const r = results.at(-1) as DetectionResult;
        log(`  ${fault} run ${run}: at weight ${r.atWeight}, ${r.offsetSec.toFixed(1)} s into the step, route at canary 0 after ${r.toRouteSec ?? '–'} s, Failed after ${r.toFailedSec ?? '–'} s (${r.outcome})`);
        // Clean slate: no Canary, no fault, and the bad data out of the query window before the next run.
        await k.request('DELETE', `${canaryPath}/${name}`);
        await setFault({ [ERROR_RATE_ANNOTATION]: '0', [LATENCY_ANNOTATION]: '0' });
        await sleep(25_000);
      }
    }
    return results;
  } finally {
    await controller?.stop();
    client?.close();
    await sb?.stop();
    rmSync(workDir, { recursive: true, force: true });
  }
}

async function createObject(k: KubeHttp, obj: object): Promise<void> {
  const o = obj as { apiVersion: string; kind: string; metadata: { namespace?: string } };
  const plural: Record<string, string> = { Namespace: 'namespaces', Deployment: 'deployments', Service: 'services', HTTPRoute: 'httproutes' };
  const p = plural[o.kind];
  if (!p) throw new Error(`no path for ${o.kind}`);
  const prefix = o.apiVersion === 'v1' ? '/api/v1' : `/apis/${o.apiVersion}`;
  const ns = o.metadata.namespace ? `/namespaces/${o.metadata.namespace}` : '';
  await k.ok('POST', `${prefix}${ns}/${p}`, obj);
}

export function formatDetection(results: DetectionResult[]): string {
  const interval = results[0]?.intervalSec ?? 10;
  const threshold = results[0]?.threshold ?? 2;
  const lines = [
    'A healthy canary on the seed route (40 rps through the sandbox mesh) is made bad once it is at weight ≥ 25: `5xx` = every request answered 500, ' +
      '`p99` = 800 ms added to every request against a `request-duration` limit of 500 ms. Success rate ≥ 99 % and p99 ≤ 500 ms over 20 s windows, ' +
      `Prometheus scraping every 1 s, interval ${interval} s, threshold ${threshold}. The fault lands right after a step, a third or two thirds of an interval into it; ` +
      'the next analysis fails, and the one after reaches the threshold, so detection is expected between interval × (threshold − 1) and interval × threshold after the fault, plus the time to patch. ' +
      '"Route at canary 0" is when the weight patch landed; "Failed" is when the mesh had confirmed it and the rollout ended.',
    '',
    '| fault | run | interval × threshold (s) | weight when bad | fault this long after the step (s) | fault → route at canary 0 (s) | fault → Failed (s) | failed checks | outcome |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |',
  ];
  const f = (v: number | undefined): string => (v === undefined ? '–' : v.toFixed(1));
  for (const r of results) {
    lines.push(`| ${r.fault} | ${r.run} | ${r.intervalSec * r.threshold} | ${r.atWeight} | ${r.offsetSec.toFixed(1)} | ${f(r.toRouteSec)} | ${f(r.toFailedSec)} | ${r.failedChecks ?? '–'} | ${r.outcome} |`);
  }
  return lines.join('\n');
}
