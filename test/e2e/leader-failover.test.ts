/**
 * Issue 5's leader election on the sandbox: two `routeshift controller --leader-elect` processes, each
 * with its own API user (kubeconfig token) and pod name, so the API server's request log and the
 * Events' reportingInstance say who wrote what. Only the Lease holder writes; SIGKILL it mid-rollout
 * and the other takes the Lease once it has expired and finishes the rollout, each step once.
 * Needs `npm run build`.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoordinationV1Api, CoreV1Api, type V1Lease } from '@kubernetes/client-node';
import type { RequestLogEntry } from '../../src/sandbox/apiserver/request-log.js';
import type { Sandbox } from '../../src/sandbox/sandbox.js';
import { demoCanary, NS, seedObjects } from '../../src/sandbox/seed.js';
import { canaryEvents, createAll, newSandbox, routeWeights, sleep, startController, waitForCanary, type ControllerProcess } from '../support/harness.js';

const LEASE_NS = 'routeshift-system';
const LEASE_NAME = 'routeshift-leader';
const LEASE_MS = 4_000;
const RENEW_MS = 3_000;
const RETRY_MS = 500;
const WRITES = new Set(['create', 'update', 'patch', 'delete', 'deletecollection']);

let sb: Sandbox;
let dir: string;
const replicas: Record<'a' | 'b', ControllerProcess | undefined> = { a: undefined, b: undefined };
const user = (id: 'a' | 'b'): string => `token:sandbox-controller-${id}`;

function startReplica(id: 'a' | 'b', configFile: string): ControllerProcess {
  const kubeconfig = join(dir, `kubeconfig-${id}`);
  return startController(sb, ['--leader-elect', '--identity', id, '--config', configFile, '--kubeconfig', kubeconfig], {
    POD_NAMESPACE: LEASE_NS,
    HOSTNAME: `replica-${id}`,
  });
}

async function lease(): Promise<V1Lease> {
  return sb.kubeConfig.makeApiClient(CoordinationV1Api).readNamespacedLease({ namespace: LEASE_NS, name: LEASE_NAME });
}

const logged = (p: ControllerProcess | undefined, msg: string): boolean => (p?.output ?? []).some((l) => l.includes(`"msg":"${msg}"`));

async function until(what: string, pred: () => boolean | Promise<boolean>, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (await pred()) return;
    await sleep(100);
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** Writes in the API server's request log, as `verb resource[/subresource]`, by user. */
function writesBy(entries: readonly RequestLogEntry[], who: string): string[] {
  return entries.filter((e) => e.user === who && WRITES.has(e.verb)).map((e) => `${e.verb} ${e.resource}${e.subresource ? `/${e.subresource}` : ''}`);
}

async function reportingInstances(name: string): Promise<string[]> {
  const core = sb.kubeConfig.makeApiClient(CoreV1Api);
  const list = await core.listNamespacedEvent({ namespace: NS, fieldSelector: `involvedObject.kind=Canary,involvedObject.name=${name}` });
  return list.items.map((e) => e.reportingInstance ?? '');
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'routeshift-leader-'));
  sb = await newSandbox();
  await createAll(sb.kubeConfig, [{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: LEASE_NS } }, ...seedObjects()]);
  for (const id of ['a', 'b'] as const) await sb.writeControllerKubeconfig(join(dir, `kubeconfig-${id}`), `controller-${id}`);
  const configFile = join(dir, 'config.yaml');
  writeFileSync(configFile, `leaderElection:\n  leaseDuration: ${LEASE_MS}ms\n  renewDeadline: ${RENEW_MS}ms\n  retryPeriod: ${RETRY_MS}ms\n`);
  replicas.a = startReplica('a', configFile);
  await until('replica a to lead', () => logged(replicas.a, 'became leader'), 30_000);
  replicas.b = startReplica('b', configFile);
  // b is up once it has read the Lease it cannot take.
  await until('replica b to read the Lease', () => sb.api.requestLog.count({ user: user('b'), verb: 'get', resource: 'leases' }) > 0, 30_000);
}, 90_000);

afterAll(async () => {
  await replicas.a?.stop();
  await replicas.b?.stop();
  await sb?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('two controllers with leader election', () => {
  it('lets only the Lease holder write', async () => {
    await createAll(sb.kubeConfig, [demoCanary({ interval: '4s' })]);
    await waitForCanary(sb, 'backend', (c) => c.status?.phase === 'Progressing' && (c.status.canaryWeight ?? 0) >= 25, 60_000);
    // Status records a move before the route is patched; wait for the patch too.
    await until('the route at 25 or more', async () => ((await routeWeights(sb))['backend-v2'] ?? 0) >= 25, 10_000);

    expect((await lease()).spec?.holderIdentity).toBe('a');
    const log = sb.api.requestLog.entries();
    const byA = writesBy(log, user('a'));
    expect(byA).toEqual(expect.arrayContaining(['update canaries/status', 'create events', 'patch httproutes']));
    expect(writesBy(log, user('b'))).toEqual([]);
    // b watches like a warm standby, but never led.
    expect(sb.api.requestLog.count({ user: user('b'), verb: 'list', resource: 'canaries' })).toBeGreaterThan(0);
    expect(logged(replicas.b, 'became leader')).toBe(false);
    expect(new Set(await reportingInstances('backend'))).toEqual(new Set(['replica-a']));
  }, 90_000);

  it('hands the rollout to the other replica after the leader is SIGKILLed, each step once', async () => {
    const before = await lease();
    await replicas.a?.stop('SIGKILL');
    replicas.a = undefined;
    const killedAt = sb.api.requestLog.entries().length;
    // The last renewal a made (it renews every retry period, so this is at most one period old).
    const lastRenew = Date.parse(String((await lease()).spec?.renewTime));

    let taken: V1Lease | undefined;
    await until(
      'replica b to take the Lease',
      async () => {
        taken = await lease();
        return taken.spec?.holderIdentity === 'b';
      },
      4 * LEASE_MS,
    );
    const acquired = Date.parse(String(taken?.spec?.acquireTime));
    // b waited for the Lease to expire (no two leaders), then took it at one of its next checks
    // (every retry period; the renew deadline is the slack for a busy machine).
    expect(acquired - lastRenew).toBeGreaterThanOrEqual(LEASE_MS - RETRY_MS);
    expect(acquired - lastRenew).toBeLessThanOrEqual(LEASE_MS + RENEW_MS);
    expect(taken?.spec?.leaseTransitions).toBe((before.spec?.leaseTransitions ?? 0) + 1);
    await until('replica b to log that it leads', () => logged(replicas.b, 'became leader'), 10_000);

    const done = await waitForCanary(sb, 'backend', (c) => c.status?.phase === 'Succeeded' || c.status?.phase === 'Failed', 90_000);
    // With the message, so a failure says why the rollout ended (it failed once under --detectOpenHandles, in band).
    expect({ phase: done.status?.phase, message: done.status?.message }).toMatchObject({ phase: 'Succeeded' });
    expect(await routeWeights(sb)).toEqual({ 'backend-v1': 0, 'backend-v2': 100 });

    const events = await canaryEvents(sb, 'backend');
    const reasons = events.map((e) => e.reason);
    expect(reasons.filter((r) => r === 'RolloutStarted')).toHaveLength(1);
    expect(reasons.filter((r) => r === 'PromotionStarted')).toHaveLength(1);
    expect(reasons.filter((r) => r === 'Promoted')).toHaveLength(1);
    const moves = events.filter((e) => e.reason === 'WeightAdvanced').map((e) => e.message);
    expect(moves).toHaveLength(4);
    for (const move of ['10 -> 25', '25 -> 50', '50 -> 75']) expect(moves.filter((m) => m.includes(move))).toHaveLength(1);

    // After the kill every write is b's, and b wrote the rest of the rollout.
    const after = sb.api.requestLog.entries().slice(killedAt);
    expect(writesBy(after, user('a'))).toEqual([]);
    expect(writesBy(after, user('b'))).toEqual(expect.arrayContaining(['update canaries/status', 'create events', 'patch httproutes']));
    expect(new Set(await reportingInstances('backend'))).toEqual(new Set(['replica-a', 'replica-b']));
  }, 150_000);
});
