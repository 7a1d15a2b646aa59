/**
 * Issue 16, goal 4, on the real control plane: a quiet service (the sandbox's own load off, no user
 * requests at all) whose Canary carries Flagger's load-test hook without a url. routeshift itself sends
 * the hey command's requests to the canary Service, the analysis sees them and promotes, and the load
 * stops when the rollout ends.
 */
import type { Canary } from '../../src/api/canary.js';
import type { Sandbox } from '../../src/sandbox/sandbox.js';
import { demoCanary, NS, seedObjects } from '../../src/sandbox/seed.js';
import { canaryEvents, createAll, newSandbox, startController, stopAll, waitForCanary, type ControllerProcess } from '../support/harness.js';
import { waitUntil } from '../support/wait.js';

let sb: Sandbox;
let controller: ControllerProcess | undefined;

beforeAll(async () => {
  sb = await newSandbox({ rps: 0 });
  await createAll(sb.kubeConfig, seedObjects());
  controller = startController(sb);
}, 90_000);

afterAll(() => stopAll(controller, sb));

/** Requests the mesh proxy saw from the load source, by destination Service (reporter="source"). */
async function meshRequests(): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const line of (await sb.mesh.metrics.text()).split('\n')) {
    if (!line.startsWith('istio_requests_total{') || !line.includes('reporter="source"')) continue;
    const dest = /destination_service_name="([^"]*)"/.exec(line)?.[1] ?? '';
    const source = /source_workload="([^"]*)"/.exec(line)?.[1] ?? '';
    const key = source === 'load-test' ? dest : `other:${dest}`;
    out[key] = (out[key] ?? 0) + Number(line.split(' ').pop());
  }
  return out;
}

async function promQuery(q: string): Promise<Array<{ value: [number, string] }>> {
  const res = await fetch(`${sb.prometheus.url}/api/v1/query?query=${encodeURIComponent(q)}`);
  const body = (await res.json()) as { data: { result: Array<{ value: [number, string] }> } };
  return body.data.result;
}

/** The controller's own count of the load source's requests, by result, from its /metrics. */
async function controllerCounts(): Promise<Record<string, number>> {
  const line = controller?.output.find((l) => l.includes('routeshift controller starting')) ?? '';
  const port = (JSON.parse(line) as { port: number }).port;
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const out: Record<string, number> = {};
  for (const m of text.matchAll(/^routeshift_load_requests_total\{([^}]*)\} (\S+)$/gm)) {
    if (!(m[1] as string).includes(`namespace="${NS}",name="backend"`)) continue;
    out[/result="(\w+)"/.exec(m[1] as string)?.[1] ?? ''] = Number(m[2]);
  }
  return out;
}

const promCount = async (): Promise<number> => Number((await promQuery('sum(istio_requests_total{reporter="source",source_workload="load-test",destination_service_name="backend-v2"})'))[0]?.value[1] ?? 0);
const lastScrape = async (): Promise<number> => Number((await promQuery('timestamp(up{job="mesh"})'))[0]?.value[1] ?? 0);

describe('the native load source', () => {
  it('drives a quiet canary to a decision with hey-style load, and stops when the rollout ends', async () => {
    const c: Canary = demoCanary({ interval: '4s', window: '8s' });
    const host = `backend-v2.${NS}.svc.cluster.local`;
    c.spec.analysis.webhooks = [
      {
        name: 'load-test',
        type: 'rollout',
        timeout: '5s',
        // Flagger's example with the sandbox's addressing: the mesh proxy on loopback, the canary Service by Host.
        metadata: { type: 'cmd', cmd: `hey -z 1m -q 5 -c 2 -host ${host} -H "x-routeshift-source-workload: load-test" ${sb.mesh.url}/` },
      },
    ];
    await createAll(sb.kubeConfig, [c]);

    await waitUntil('load-source requests to the canary in Prometheus', async () => (await promCount()) > 0, 60_000, 500);
    const done = await waitForCanary(sb, 'backend', (x) => x.status?.phase === 'Succeeded' || x.status?.phase === 'Failed', 120_000);
    expect(done.status?.phase).toBe('Succeeded');

    await waitUntil('the LoadStopped Event', async () => (await canaryEvents(sb, 'backend')).some((e) => e.reason === 'LoadStopped'), 30_000, 200);
    const events = await canaryEvents(sb, 'backend');
    const started = events.filter((e) => e.reason === 'LoadStarted');
    expect(started).toHaveLength(1);
    expect(started[0]?.message).toContain(`load-test: load started: 10 rps over 2 workers, GET ${sb.mesh.url}/ (Host ${host})`);
    expect(events.find((e) => e.reason === 'LoadStopped')?.message).toMatch(/load-test: load stopped after \d+ requests: the rollout is no longer analysing \(phase (Promoting|Succeeded)\)/);

    // Stopped means no request after the LoadStopped Event: two more scrapes of the mesh see the same count.
    const atStop = await meshRequests();
    const scraped = await lastScrape();
    await waitUntil('two more scrapes of the mesh', async () => (await lastScrape()) >= scraped + 2, 30_000, 200);
    expect(await meshRequests()).toEqual(atStop);
    await waitUntil('Prometheus to hold the final count', async () => (await promCount()) === atStop['backend-v2'], 30_000, 200);

    // Every request the controller counts as sent and answered is one the mesh saw.
    expect(await controllerCounts()).toEqual({ '2xx': atStop['backend-v2'] });

    // Only the load source's requests reached the service, all of them to the canary Service it addressed.
    expect(Object.keys(atStop)).toEqual(['backend-v2']);
    expect(atStop['backend-v2']).toBeGreaterThan(20);
    const analysed = done.status?.lastAnalysis?.find((r) => r.name === 'request-success-rate');
    expect(analysed?.value).toBe(100);
  }, 240_000);
});
