/**
 * Issue 6 on the sandbox: every hook type is called at its moment of a real rollout with the
 * documented payload, a closed confirm-promotion gate holds the rollout in Waiting without counting
 * a failure, a failing rollout check rolls back and calls the rollback hook.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Canary, WebhookSpec } from '../../src/api/canary.js';
import type { Sandbox } from '../../src/sandbox/sandbox.js';
import { demoCanary, NS, seedObjects } from '../../src/sandbox/seed.js';
import { canaryEvents, createAll, newSandbox, startController, waitForCanary, type ControllerProcess } from '../support/harness.js';
import { waitUntil } from '../support/wait.js';

interface Call {
  path: string;
  body: { name: string; namespace: string; phase: string; weight: number; revision: string; type: string; metadata: Record<string, string> };
}

let sb: Sandbox;
let controller: ControllerProcess | undefined;
let receiver: Server;
let base = '';
const calls: Call[] = [];
/** Status code per path; 200 unless set. */
const answers = new Map<string, number>();

beforeAll(async () => {
  receiver = createServer((req, res) => {
    let data = '';
    req.on('data', (d: Buffer) => (data += d.toString()));
    req.on('end', () => {
      const path = req.url ?? '/';
      try {
        calls.push({ path, body: JSON.parse(data) as Call['body'] });
      } catch {
        calls.push({ path, body: {} as Call['body'] });
      }
      res.writeHead(answers.get(path) ?? 200).end();
    });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', () => r()));
  base = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
  sb = await newSandbox();
  await createAll(sb.kubeConfig, seedObjects());
  controller = startController(sb);
}, 60_000);

afterAll(async () => {
  await controller?.stop();
  await sb?.stop();
  await new Promise<void>((r) => receiver.close(() => r()));
});

const hook = (type: WebhookSpec['type'], path: string): WebhookSpec => ({ name: type, type, url: `${base}${path}`, timeout: '2s', metadata: { team: 'payments' } });

describe('webhooks during a rollout', () => {
  it('calls each hook type at its moment, and a closed confirm-promotion gate holds the rollout', async () => {
    const c: Canary = demoCanary();
    c.spec.analysis.webhooks = [
      hook('confirm-rollout', '/confirm-rollout'),
      hook('pre-rollout', '/pre-rollout'),
      hook('rollout', '/rollout'),
      hook('confirm-traffic-increase', '/confirm-traffic-increase'),
      hook('confirm-promotion', '/confirm-promotion'),
      hook('post-rollout', '/post-rollout'),
      hook('event', '/event'),
    ];
    answers.set('/confirm-promotion', 403);
    await createAll(sb.kubeConfig, [c]);

    const waiting = await waitForCanary(sb, 'backend', (x) => x.status?.phase === 'Waiting');
    expect(waiting.status?.canaryWeight).toBe(75);
    expect(waiting.status?.failedChecks ?? 0).toBe(0);
    expect((await canaryEvents(sb, 'backend')).map((e) => e.reason)).toContain('WaitingForGate');
    answers.set('/confirm-promotion', 200);
    const done = await waitForCanary(sb, 'backend', (x) => x.status?.phase === 'Succeeded');
    // post-rollout and the last event hooks are sent after status.
    await waitUntil('the post-rollout hook and the Promoted event hook', () =>
      calls.some((x) => x.path === '/post-rollout') && calls.some((x) => x.path === '/event' && x.body.metadata.eventReason === 'Promoted'),
    );

    const order = calls.filter((x) => x.path !== '/event').map((x) => x.path);
    // Order of first appearance: gates before the first step, checks each interval, promotion last.
    const first = (p: string) => order.indexOf(p);
    expect(first('/confirm-rollout')).toBe(0);
    expect(first('/pre-rollout')).toBe(1);
    expect(first('/rollout')).toBeGreaterThan(first('/pre-rollout'));
    expect(first('/confirm-traffic-increase')).toBeGreaterThan(first('/pre-rollout'));
    expect(first('/confirm-promotion')).toBeGreaterThan(first('/confirm-traffic-increase'));
    expect(order[order.length - 1]).toBe('/post-rollout');
    expect(order.filter((p) => p === '/confirm-traffic-increase')).toHaveLength(3); // 10->25, 25->50, 50->75
    expect(order.filter((p) => p === '/confirm-promotion').length).toBeGreaterThanOrEqual(2); // closed, then open

    const payload = calls.find((x) => x.path === '/rollout')?.body;
    expect(payload).toMatchObject({ name: 'backend', namespace: NS, type: 'rollout', revision: done.status?.revision });
    expect(payload?.metadata).toMatchObject({ team: 'payments', stable: 'backend-v1', canary: 'backend-v2' });
    expect(typeof payload?.weight).toBe('number');

    const events = calls.filter((x) => x.path === '/event').map((x) => x.body.metadata.eventReason);
    expect(events).toEqual(expect.arrayContaining(['RolloutStarted', 'WeightAdvanced', 'WaitingForGate', 'PromotionStarted', 'Promoted']));
  }, 150_000);

  it('a failing rollout check counts as failed checks, rolls back and calls the rollback hook', async () => {
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
    const c = demoCanary({ stable: 'backend-v2', canary: 'backend-v1' });
    c.metadata.name = 'smoke';
    c.spec.routeRef.name = 'hooks-split';
    c.spec.analysis.webhooks = [hook('rollout', '/smoke'), hook('rollback', '/rollback'), hook('post-rollout', '/smoke-post')];
    answers.set('/smoke', 500);
    await createAll(sb.kubeConfig, [c]);
    const failed = await waitForCanary(sb, 'smoke', (x) => x.status?.phase === 'Failed');
    expect(failed.status?.failedChecks).toBe(2);
    await waitUntil('the post-rollout hook after the rollback hook', () => calls.some((x) => x.path === '/smoke-post'));
    const paths = calls.map((x) => x.path);
    expect(paths.lastIndexOf('/rollback')).toBeGreaterThan(paths.lastIndexOf('/smoke'));
    expect(paths.lastIndexOf('/smoke-post')).toBeGreaterThan(paths.lastIndexOf('/rollback'));
    const held = (await canaryEvents(sb, 'smoke')).find((e) => e.reason === 'CheckFailed');
    expect(held?.message).toContain("rollout check 'rollout' failed: HTTP 500");
  }, 120_000);
});
