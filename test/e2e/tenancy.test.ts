/**
 * Issue 15 on the sandbox: a Canary reaches nothing outside its namespace unless that namespace grants it.
 * - Hooks to the metadata address, to 127.0.0.1 and to a name resolving to loopback are refused under the
 *   default outbound policy (this controller is started without the harness's loopback allowance), fail
 *   as checks with an Event saying why, and no request arrives; a planted secret never reaches the logs.
 * - A Canary in team-a naming a route in another namespace is refused (RefNotPermitted) and moves nothing,
 *   until that namespace creates a ReferenceGrant; then the rollout starts without an edit of the Canary.
 * - With prometheus.enforceNamespaceLabel, a query naming another namespace is refused with its position, and a
 *   query naming none is measured on the Canary's own namespace's series in the sandbox's Prometheus.
 * Uses only the harness's helpers and the sandbox's KubeConfig, so it can run on a real control plane.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Canary } from '../../src/api/canary.js';
import type { Sandbox } from '../../src/sandbox/sandbox.js';
import { demoCanary, NS, seedObjects } from '../../src/sandbox/seed.js';
import { canaryEvents, createAll, newSandbox, routeWeights, startController, waitForCanary, type ControllerProcess } from '../support/harness.js';
import { canaryReferenceGrant } from '../support/reference-grant.js';

const TEAM_A = 'team-a';
const SECRET = 'planted-secret-4b1d9';

let sb: Sandbox;
let controller: ControllerProcess | undefined;
let receiver: Server;
let port = 0;
const received: string[] = [];

beforeAll(async () => {
  receiver = createServer((req, res) => {
    received.push(req.url ?? '/');
    res.writeHead(200).end('ok');
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', () => r()));
  port = (receiver.address() as AddressInfo).port;
  sb = await newSandbox();
  await createAll(sb.kubeConfig, [...seedObjects(), { apiVersion: 'v1', kind: 'Namespace', metadata: { name: TEAM_A } }]);
  // An allowlist naming only a documentation address (TEST-NET-1) keeps the default deny list in force.
  controller = startController(sb, ['--allow-outbound', '192.0.2.1/32']);
}, 60_000);

afterAll(async () => {
  await controller?.stop();
  await sb?.stop();
  await new Promise<void>((r) => receiver.close(() => r()));
});

describe('outbound requests under the default policy', () => {
  it('refuses hooks to 169.254.169.254, 127.0.0.1 and localhost: failed checks with the reason, no request sent', async () => {
    await createAll(sb.kubeConfig, [
      {
        apiVersion: 'gateway.networking.k8s.io/v1',
        kind: 'HTTPRoute',
        metadata: { name: 'hooks-split', namespace: NS },
        spec: {
          parentRefs: [{ name: 'backend-v2', kind: 'Service', group: '', port: 80 }],
          rules: [{ backendRefs: [{ name: 'backend-v2', port: 80, weight: 100 }, { name: 'backend-v1', port: 80, weight: 0 }] }],
        },
      },
    ]);
    const c: Canary = demoCanary({ stable: 'backend-v2', canary: 'backend-v1' });
    c.metadata.name = 'outbound';
    c.spec.routeRef.name = 'hooks-split';
    c.spec.analysis.webhooks = [
      { name: 'metadata', type: 'rollout', url: `http://169.254.169.254/latest/meta-data/?token=${SECRET}`, timeout: '2s' },
      { name: 'loopback', type: 'rollout', url: `http://user:${SECRET}@127.0.0.1:${port}/loopback/${SECRET}`, timeout: '2s' },
      { name: 'by-name', type: 'rollout', url: `http://localhost:${port}/by-name?token=${SECRET}`, timeout: '2s', retries: 2 },
    ];
    await createAll(sb.kubeConfig, [c]);

    const failed = await waitForCanary(sb, 'outbound', (x) => x.status?.phase === 'Failed', 120_000);
    expect(failed.status?.failedChecks).toBe(2);
    const messages = (await canaryEvents(sb, 'outbound')).filter((e) => e.reason === 'CheckFailed').map((e) => e.message).join('\n');
    expect(messages).toContain("rollout check 'metadata' failed: refused by the outbound policy: 169.254.169.254 is a link-local address");
    expect(messages).toContain("rollout check 'loopback' failed: refused by the outbound policy: 127.0.0.1 is a loopback address");
    expect(messages).toContain("rollout check 'by-name' failed: refused by the outbound policy: localhost resolves to");
    expect(messages).not.toContain(SECRET);
    expect(received).toEqual([]);
    expect(controller?.output.join('\n')).toContain('outbound policy'); // the refusals are logged ...
    expect(controller?.output.join('\n')).not.toContain(SECRET); // ... without the URL's secrets
  }, 150_000);
});

describe('cross-namespace references', () => {
  it('refuses a route in another namespace without a ReferenceGrant, and rolls out once one exists', async () => {
    const before = await routeWeights(sb);
    const c: Canary = demoCanary({ stepWeights: [25, 50] });
    c.metadata = { name: 'xns', namespace: TEAM_A };
    c.spec.routeRef = { name: 'backend-split', namespace: NS };
    await createAll(sb.kubeConfig, [c]);

    const refused = await waitForCanary(sb, 'xns', (x) => x.status?.phase === 'Invalid', 60_000, TEAM_A);
    expect(refused.status?.conditions?.find((k) => k.type === 'Ready')).toMatchObject({ status: 'False', reason: 'RefNotPermitted' });
    const events = await canaryEvents(sb, 'xns', TEAM_A);
    expect(events.map((e) => e.reason)).toEqual(['RefNotPermitted']);
    expect(events[0]?.message).toContain(`spec.routeRef: HTTPRoute.gateway.networking.k8s.io ${NS}/backend-split is in another namespace; it needs a ReferenceGrant in ${NS} from routeshift.io/Canary in ${TEAM_A}`);
    expect(await routeWeights(sb)).toEqual(before);

    await createAll(sb.kubeConfig, [canaryReferenceGrant(NS, TEAM_A, 'backend-split')]);
    // Rechecked within 10s without an edit of the Canary; the first step moves the route in the other namespace.
    await waitForCanary(sb, 'xns', (x) => (x.status?.canaryWeight ?? 0) >= 25, 60_000, TEAM_A);
    expect((await routeWeights(sb))['backend-v2']).toBeGreaterThanOrEqual(25);
    expect((await canaryEvents(sb, 'xns', TEAM_A)).map((e) => e.reason)).toContain('RolloutStarted');
  }, 150_000);
});

describe('PromQL tenancy', () => {
  it('refuses a query naming another namespace, and measures an unscoped one on the Canary namespace only', async () => {
    await controller?.stop();
    const dir = mkdtempSync(join(tmpdir(), 'routeshift-tenancy-'));
    const config = join(dir, 'config.yaml');
    // The sandbox mesh labels its series with destination_service_namespace (no plain `namespace` label).
    writeFileSync(config, 'prometheus:\n  enforceNamespaceLabel: destination_service_namespace\n');
    controller = startController(sb, ['--config', config, '--allow-outbound', '192.0.2.1/32']);

    const peek: Canary = demoCanary();
    peek.metadata.name = 'peek';
    peek.spec.routeRef.name = 'no-route-needed';
    peek.spec.analysis.metrics = [{ name: 'theirs', interval: '30s', thresholdRange: { min: 0 }, query: 'sum(rate(istio_requests_total{destination_service_namespace="team-b"}[30s]))' }];
    await createAll(sb.kubeConfig, [
      peek,
      {
        apiVersion: 'gateway.networking.k8s.io/v1',
        kind: 'HTTPRoute',
        metadata: { name: 'tenant-split', namespace: NS },
        spec: {
          parentRefs: [{ name: 'backend-v1', kind: 'Service', group: '', port: 80 }],
          rules: [{ backendRefs: [{ name: 'backend-v1', port: 80, weight: 100 }, { name: 'backend-v2', port: 80, weight: 0 }] }],
        },
      },
    ]);
    const refused = await waitForCanary(sb, 'peek', (x) => x.status?.phase === 'Invalid', 60_000);
    expect(refused.status?.message).toContain(
      'spec.analysis.metrics[0].query: cannot enforce destination_service_namespace="istio-test" on the canary query',
    );
    expect(refused.status?.message).toContain('the selector asks for destination_service_namespace="team-b", but this Canary may read only destination_service_namespace="istio-test" (line 1, column 31)');

    const own: Canary = demoCanary({ stepWeights: [10, 50] });
    own.metadata.name = 'own';
    own.spec.routeRef.name = 'tenant-split';
    own.spec.analysis.metrics = [{ name: 'traffic', interval: '30s', thresholdRange: { min: 0 }, query: 'sum(rate(istio_requests_total{reporter="destination"}[30s]))' }];
    await createAll(sb.kubeConfig, [own]);
    // The rewritten query (…{reporter="destination",destination_service_namespace="istio-test"}) finds the sandbox's traffic.
    const measured = await waitForCanary(sb, 'own', (x) => (x.status?.lastAnalysis?.find((r) => r.name === 'traffic')?.value ?? 0) > 0, 90_000);
    expect(measured.status?.lastAnalysis?.find((r) => r.name === 'traffic')?.verdict).toBe('pass');
  }, 150_000);
});
