/**
 * Issue 19's sharding on the real control plane: three `routeshift controller --shards 32` replicas
 * (the ServiceAccount's token, so deploy/base/rbac.yaml is checked by the real authorizer) share 300
 * canaries through shard Leases. One is SIGKILLed mid-rollout: its shards go to the others once their
 * Leases expire, and its canaries continue; a fourth joins and shards move onto it. Every rollout must
 * visit each step once on its route (the fault tests' RouteAuditor) and announce each step once.
 * Routes have a Gateway parent the sandbox mesh does not serve; the benchmark's route-status stand-in
 * accepts them, so 300 canaries need no pods. Needs `npm run build`.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoordinationV1Api, CoreV1Api, type V1Lease } from '@kubernetes/client-node';
import type { Canary } from '../../src/api/canary.js';
import { forEachLimit } from '../../src/bench/kube-http.js';
import { startRouteStatusStub, type RouteStatusStub } from '../../src/bench/route-status.js';
import { shardOf } from '../../src/controller/shard-hash.js';
import type { Sandbox } from '../../src/sandbox/sandbox.js';
import { NS } from '../../src/sandbox/seed.js';
import { canaryFor, createWithRetry, RouteAuditor, routeFor, sandboxClient, type KubeHttp } from '../support/faults.js';
import { newSandbox, startController, type ControllerProcess } from '../support/harness.js';
import { waitUntil } from '../support/wait.js';

const COUNT = 300;
const SHARDS = 32;
const LEASE_NS = 'routeshift-system';
const GROUP = 'routeshift-leader';
const LEASE_MS = 6_000;
const RENEW_MS = 5_000;
const RETRY_MS = 1_000;
const INTERVAL_MS = 5_000;
// Five steps: enough to kill b mid-rollout and leave work for d, each step a status write, an Event and a route
// patch per canary (nine steps took 196-251 s on the shared machine).
const STEPS = [10, 30, 50, 70, 90];

let sb: Sandbox;
let k: KubeHttp;
let auditor: RouteAuditor;
let stub: RouteStatusStub;
let dir: string;
let configFile: string;
const replicas = new Map<string, ControllerProcess>();
const names = Array.from({ length: COUNT }, (_, i) => `shard-${i}`);

function startReplica(id: string): void {
  replicas.set(id, startController(sb, ['--leader-elect', '--shards', String(SHARDS), '--identity', id, '--config', configFile, '--namespace', NS], { POD_NAMESPACE: LEASE_NS, HOSTNAME: `replica-${id}` }));
}

/** shard -> holder, from the shard Leases (holder '' when released); `acquire`: when the holder took it, by its clock. */
async function holders(): Promise<Map<number, { holder: string; renew: number; acquire: number }>> {
  const list = await sb.kubeConfig.makeApiClient(CoordinationV1Api).listNamespacedLease({ namespace: LEASE_NS, labelSelector: `routeshift.io/shard-group=${GROUP},routeshift.io/shard-lease=shard` });
  const out = new Map<number, { holder: string; renew: number; acquire: number }>();
  for (const l of list.items as V1Lease[]) out.set(Number(/-(\d+)$/.exec(l.metadata?.name ?? '')?.[1]), { holder: l.spec?.holderIdentity ?? '', renew: Date.parse(String(l.spec?.renewTime)), acquire: Date.parse(String(l.spec?.acquireTime)) });
  return out;
}

function perHolder(h: Map<number, { holder: string }>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const { holder } of h.values()) if (holder) out[holder] = (out[holder] ?? 0) + 1;
  return out;
}

async function canaries(): Promise<Map<string, Canary>> {
  const res = await k.request<{ items: Canary[] }>('GET', `/apis/routeshift.io/v1alpha1/namespaces/${NS}/canaries`);
  return new Map((res.body?.items ?? []).map((c) => [c.metadata.name, c]));
}

function logCounts(r: ControllerProcess): Record<string, number> {
  const out: Record<string, number> = {};
  for (const m of ['shard acquired', 'shard released', 'shard lost', 'reconcile failed', 'WeightRestored']) out[m] = r.output.filter((l) => l.includes(m)).length;
  return out;
}

/** waitUntil, with what the canaries and replicas were doing when it timed out. */
async function until(what: string, cond: () => Promise<boolean>, timeoutMs: number, pollMs: number): Promise<void> {
  try {
    await waitUntil(what, cond, timeoutMs, pollMs);
  } catch (err) {
    const all = [...(await canaries()).values()];
    const phases: Record<string, number> = {};
    for (const c of all) phases[`${c.status?.phase}@${c.status?.canaryWeight}`] = (phases[`${c.status?.phase}@${c.status?.canaryWeight}`] ?? 0) + 1;
    const moves = (r: ControllerProcess): string => ['shard acquired', 'shard released', 'shard lost', 'shard lease round failed', 'shard lease renewal failed'].map((m) => `${m}: ${r.output.filter((l) => l.includes(`"msg":"${m}`)).length}`).join(', ');
    const logs = [...replicas].map(([id, r]) => `${id} (${moves(r)}):\n  ${r.output.filter((l) => /shard lost|renewal failed|round failed|reconcile failed/.test(l)).slice(0, 6).join('\n  ')}`).join('\n');
    throw new Error(`${(err as Error).message}\nphase@weight: ${JSON.stringify(phases)}\nfirst: ${JSON.stringify(all[0]?.status)}\nholders: ${JSON.stringify(perHolder(await holders()))}\n${logs}`, { cause: err });
  }
}

/** A route whose only parent is a Gateway: the sandbox mesh leaves it alone, the stand-in accepts it. */
function route(name: string): object {
  const r = routeFor(name);
  r.spec['parentRefs'] = [{ group: 'gateway.networking.k8s.io', kind: 'Gateway', name: 'shard-gateway' }];
  return r;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'routeshift-shard-'));
  configFile = join(dir, 'config.yaml');
  writeFileSync(configFile, `leaderElection:\n  leaseDuration: ${LEASE_MS}ms\n  renewDeadline: ${RENEW_MS}ms\n  retryPeriod: ${RETRY_MS}ms\n`);
  sb = await newSandbox({ rps: 0 });
  k = sandboxClient(sb);
  auditor = new RouteAuditor(k);
  await createWithRetry(k, [
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } },
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: LEASE_NS } },
  ]);
  stub = startRouteStatusStub(k, NS);
}, 120_000);

afterAll(async () => {
  for (const r of replicas.values()) await r.stop();
  stub?.stop();
  auditor?.stop();
  k?.close();
  await sb?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('three replicas sharing 300 canaries through shard Leases', () => {
  it('continues a SIGKILLed replica\'s canaries on the others within the bound, spreads shards over a fourth, each step once', async () => {
    const t0 = Date.now();
    for (const id of ['a', 'b', 'c']) startReplica(id);
    await until('32 shards spread over 3 replicas', async () => {
      const h = perHolder(await holders());
      return Object.keys(h).length === 3 && Object.values(h).reduce((x, y) => x + y, 0) === SHARDS;
    }, 60_000, 250);

    await forEachLimit(names, 16, async (n) => {
      auditor.track(n, `${n}-canary`);
      await createWithRetry(k, [route(n)]);
    });
    await stub.ready(COUNT);
    await forEachLimit(names, 16, (n) => createWithRetry(k, [canaryFor(n, { stepWeights: STEPS, interval: `${INTERVAL_MS / 1000}s`, metrics: [] })]));
    const created = Date.now();
    await until('every canary at its first step or later', async () => [...(await canaries()).values()].filter((c) => (c.status?.canaryWeight ?? 0) >= (STEPS[0] as number)).length === COUNT, 120_000, 500);
    const progressing = Date.now();

    // --- SIGKILL b ---
    const before = await holders();
    const bShards = [...before].filter(([, v]) => v.holder === 'b').map(([s]) => s);
    const bCanaries = names.filter((n) => bShards.includes(shardOf(`${NS}/${n}`, SHARDS)));
    await replicas.get('b')?.stop('SIGKILL');
    replicas.delete('b');
    const killed = Date.now();
    // Read after the kill: b writes nothing more, so a weight above this one is another replica's step.
    const weightAtKill = new Map([...(await canaries())].map(([n, c]) => [n, c.status?.canaryWeight ?? 0]));
    const lastRenew = Math.max(...bShards.map((s) => before.get(s)?.renew ?? 0));
    let movedAt = 0;
    let seenAt = 0;
    await until('b\'s shards held by the others', async () => {
      const h = await holders();
      seenAt = Date.now();
      // When the last of them was taken, as the Leases record it (this poll runs late on a loaded machine).
      movedAt = Math.max(...bShards.map((s) => h.get(s)?.acquire ?? Infinity));
      return bShards.every((s) => ['a', 'c'].includes(h.get(s)?.holder ?? ''));
    }, 4 * LEASE_MS, 100);
    // Continued: every canary still rolling out moved past the weight it had when b died. The others'
    // canaries are the yardstick: on a busy machine every tick runs late, and b's may be later only by
    // the failover (their shards' Leases expiring) and their admission on the new owner.
    const continuedAt = new Map<string, number>();
    const rolling = names.filter((n) => (weightAtKill.get(n) ?? 0) < 100);
    await until('every rolling canary to take its next step', async () => {
      const now = Date.now();
      for (const [n, c] of await canaries()) if (rolling.includes(n) && !continuedAt.has(n) && ((c.status?.canaryWeight ?? 0) > (weightAtKill.get(n) ?? 0) || c.status?.phase === 'Succeeded')) continuedAt.set(n, now);
      return continuedAt.size === rolling.length;
    }, 180_000, 250);
    const after = (ns: string[]): number[] => ns.flatMap((n) => (continuedAt.has(n) ? [(continuedAt.get(n) as number) - killed] : [])).sort((x, y) => x - y);
    const worst = (ns: string[]): number => Math.max(0, ...after(ns));
    const median = (ns: string[]): number => after(ns)[Math.floor((after(ns).length - 1) / 2)] ?? 0;
    const medianMoved = median(rolling.filter((n) => bCanaries.includes(n)));
    const medianStayed = median(rolling.filter((n) => !bCanaries.includes(n)));
    const worstMoved = worst(rolling.filter((n) => bCanaries.includes(n)));
    const worstStayed = worst(rolling.filter((n) => !bCanaries.includes(n)));

    // --- a fourth replica ---
    startReplica('d');
    const joined = Date.now();
    let spread: Record<string, number> = {};
    await until('shards spread over a, c and d', async () => {
      spread = perHolder(await holders());
      return ['a', 'c', 'd'].every((id) => (spread[id] ?? 0) >= 4) && Object.values(spread).reduce((x, y) => x + y, 0) === SHARDS;
    }, 30_000, 250);
    const spreadAt = Date.now();

    await until('every rollout to succeed', async () => [...(await canaries()).values()].filter((c) => c.status?.phase === 'Succeeded' && !c.status.pendingEvent).length === COUNT, 180_000, 1000);
    const done = Date.now();

    // --- each step once, on the route and in Events ---
    const problems: string[] = [];
    const expected = [0, ...STEPS, 100];
    for (const n of names) {
      await auditor.settled(n, 100, 5_000);
      const a = auditor.audit(n);
      if (JSON.stringify(a.history) !== JSON.stringify(expected)) problems.push(`${n}: route canary weights ${a.history.join(' -> ')}`);
      problems.push(...a.violations.map((v) => `${n}: ${v}`));
    }
    const events = await sb.kubeConfig.makeApiClient(CoreV1Api).listNamespacedEvent({ namespace: NS, fieldSelector: 'involvedObject.kind=Canary' });
    const steps = new Map<string, number[]>();
    const by: Record<string, Set<string>> = {};
    for (const e of events.items) {
      const n = e.involvedObject.name ?? '';
      if (e.reason !== 'WeightAdvanced' && e.reason !== 'Promoted') continue;
      (by[e.reportingInstance ?? ''] ??= new Set()).add(n);
      if (e.reason !== 'WeightAdvanced') continue;
      const to = Number((/-> (\d+)/.exec(e.message ?? '') ?? /first step, (\d+)/.exec(e.message ?? ''))?.[1]);
      for (let i = 0; i < (e.count ?? 1); i++) steps.set(n, [...(steps.get(n) ?? []), to]);
    }
    for (const n of names) {
      const got = [...(steps.get(n) ?? [])].sort((x, y) => x - y);
      if (JSON.stringify(got) !== JSON.stringify(STEPS)) problems.push(`${n}: WeightAdvanced to ${got.join(',')}`);
    }
    const counts = Object.fromEntries(Object.entries(by).map(([r, s]) => [r, s.size]));
    process.stdout.write(
      `sharding: ${COUNT} canaries, ${SHARDS} shards; 3 replicas spread in ${((created - t0) / 1000).toFixed(1)} s (with route setup); all at the first step after ${((progressing - created) / 1000).toFixed(1)} s; ` +
        `b held ${bShards.length} shards / ${bCanaries.length} canaries; its shards moved ${((movedAt - lastRenew) / 1000).toFixed(1)} s after its last renewal (${((movedAt - killed) / 1000).toFixed(1)} s after the kill, seen by the test after ${((seenAt - killed) / 1000).toFixed(1)} s); ` +
        `after the kill every one of its canaries stepped again within ${(worstMoved / 1000).toFixed(1)} s (median ${(medianMoved / 1000).toFixed(1)} s), the others' within ${(worstStayed / 1000).toFixed(1)} s (median ${(medianStayed / 1000).toFixed(1)} s); d joined and shards spread in ${((spreadAt - joined) / 1000).toFixed(1)} s (${JSON.stringify(spread)}); ` +
        `all succeeded ${((done - created) / 1000).toFixed(1)} s after creation, test ${((Date.now() - t0) / 1000).toFixed(1)} s; canaries stepped or promoted by replica: ${JSON.stringify(counts)}; ` +
        `log lines by replica: ${JSON.stringify(Object.fromEntries([...replicas].map(([id, r]) => [id, logCounts(r)])))}\n`,
    );
    expect(problems.slice(0, 20)).toEqual([]);
    // No early takeover (the Lease is the fence), and failover within leaseDuration plus one retry period
    // (the renew deadline is the slack for a busy machine, as in the leader-election test).
    expect(movedAt - lastRenew).toBeGreaterThanOrEqual(LEASE_MS - RETRY_MS);
    expect(movedAt - lastRenew).toBeLessThanOrEqual(LEASE_MS + RETRY_MS + RENEW_MS);
    // Every one of b's canaries continued (awaited above). How much later than the others is reported, not
    // asserted (bound: leaseDuration plus one interval, measured by `node dist/bench/shards.js --failover`):
    // the new owner queues them by when they fell due (admission.ts), so beyond the failover they wait only
    // on the machine's load, as the others do.
    expect(worstMoved).toBeGreaterThan(0);
    expect(bCanaries.length).toBeGreaterThan(0);
    expect(counts['replica-d'] ?? 0).toBeGreaterThan(0);
    expect(Object.keys(counts).sort()).toEqual(['replica-a', 'replica-b', 'replica-c', 'replica-d']);
  }, 480_000);
});
