/**
 * Fault injection at Prometheus: a proxy between the controller and Prometheus goes down (connections
 * reset), slow (each query held past the provider's 1 s timeout), answers NaN, then answers an empty
 * vector, one fault at a time while a healthy canary progresses. During each fault the canary must
 * not advance nor be promoted (and, for a healthy canary whose data is missing, not be rolled back
 * either); once the fault is lifted it must advance again, and finally be promoted. Needs `npm run build`.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Canary } from '../../src/api/canary.js';
import type { Sandbox } from '../../src/sandbox/sandbox.js';
import {
  canaryFor,
  createWithRetry,
  FaultTally,
  readCanary,
  type RouteAuditor,
  rolloutObjects,
  startPromFaultProxy,
  type KubeHttp,
  type PromFaultProxy,
  type PromMode,
  closeFaultBed,
  openFaultBed,
} from '../support/faults.js';
import { canaryEvents, sleep, startController, type ControllerProcess } from '../support/harness.js';

const NAME = 'prom-faults';
const STEPS = [10, 20, 30, 40, 50, 60, 70, 80, 90];
const INTERVAL_MS = 2_000;

let sb: Sandbox;
let k: KubeHttp;
let proxy: PromFaultProxy;
let auditor: RouteAuditor;
let controller: ControllerProcess | undefined;
let dir: string;
const tally = new FaultTally();

beforeAll(async () => {
  ({ sb, k, auditor } = await openFaultBed());
  proxy = await startPromFaultProxy(sb.prometheus.url, 2_500);
  dir = mkdtempSync(join(tmpdir(), 'routeshift-faults-prom-'));
}, 60_000);

afterAll(async () => {
  await proxy?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
  await closeFaultBed({ sb, k, auditor }, { label: 'faults-prometheus', tally, controller });
});

async function current(): Promise<Canary> {
  const c = await readCanary(k, NAME);
  if (!c) throw new Error(`Canary ${NAME} is gone`);
  return c;
}

async function until(what: string, pred: (c: Canary) => boolean, timeoutMs: number): Promise<Canary> {
  const end = Date.now() + timeoutMs;
  let c = await current();
  while (!pred(c)) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}; status ${JSON.stringify(c.status)}`);
    await sleep(200);
    c = await current();
  }
  return c;
}

const analysedAfter = (t: number) => (c: Canary) => Date.parse(c.status?.lastAnalysisTime ?? '') > t;

describe('Prometheus down, slow, NaN and empty', () => {
  it('never advances or promotes on missing data, and resumes when the data returns', async () => {
    const config = join(dir, 'controller.yaml');
    writeFileSync(config, JSON.stringify({ prometheus: { address: proxy.url, timeout: '1s', retries: 1 } }));
    auditor.track(NAME, `${NAME}-canary`);
    await createWithRetry(k, rolloutObjects(NAME, false));
    await createWithRetry(k, [canaryFor(NAME, { stepWeights: STEPS, interval: `${INTERVAL_MS / 1000}s`, inconclusiveLimit: 50 })]);
    controller = startController(sb, ['--config', config, '--prometheus', proxy.url]);

    const problems: string[] = [];
    let weight = (await until('the first analysed step', (c) => (c.status?.canaryWeight ?? 0) >= STEPS[1]! && c.status?.phase === 'Progressing', 60_000)).status?.canaryWeight ?? 0;
    for (const mode of ['down', 'slow', 'nan', 'empty'] as PromMode[]) {
      const mine: string[] = [];
      proxy.mode = mode;
      const switched = Date.now();
      // A tick that measured before the switch may still land; the first analysis after it is the fault's.
      const first = await until(`an analysis under ${mode}`, analysedAfter(switched + 100), 30_000);
      const held = first.status?.canaryWeight ?? 0;
      const reports = first.status?.lastAnalysis ?? [];
      if (reports.some((r) => r.verdict === 'pass')) mine.push(`a metric passed under ${mode}: ${JSON.stringify(reports)}`);
      // Hold the fault for three more analyses and watch every status and route version meanwhile.
      const from = Date.parse(first.status?.lastAnalysisTime ?? '');
      let analyses = 0;
      let seenAt = from;
      const end = Date.now() + 8 * INTERVAL_MS + 6_000;
      while (analyses < 3 && Date.now() < end) {
        await sleep(200);
        const c = await current();
        const at = Date.parse(c.status?.lastAnalysisTime ?? '');
        if (at > seenAt) {
          analyses++;
          seenAt = at;
        }
        if ((c.status?.canaryWeight ?? 0) !== held) mine.push(`weight moved ${held} -> ${c.status?.canaryWeight} under ${mode}`);
        if (c.status?.phase !== 'Progressing') mine.push(`phase ${c.status?.phase} under ${mode}`);
      }
      if (analyses < 3) mine.push(`only ${analyses} analyses in the fault window under ${mode}`);
      if (proxy.counts[mode] === 0) mine.push(`no query reached the proxy in mode ${mode}`);
      const route = auditor.audit(NAME).history.at(-1);
      if (route !== held) mine.push(`route at ${route} while status says ${held} under ${mode}`);
      proxy.mode = 'pass';
      const resumed = await until(`progress after ${mode}`, (c) => (c.status?.canaryWeight ?? 0) > held, 40_000).catch((err: Error) => {
        mine.push(err.message);
        return undefined;
      });
      if (resumed) weight = resumed.status?.canaryWeight ?? weight;
      tally.record(`Prometheus ${mode}`, mine.length === 0, mine.join('; '));
      problems.push(...mine);
    }
    const done = await until('promotion', (c) => c.status?.phase === 'Succeeded' || c.status?.phase === 'Failed', 90_000);
    if (done.status?.phase !== 'Succeeded') problems.push(`ended ${done.status?.phase}: ${done.status?.message}`);
    const audit = auditor.audit(NAME);
    problems.push(...audit.violations);
    if (JSON.stringify(audit.history) !== JSON.stringify([0, ...STEPS, 100])) problems.push(`route canary weights ${audit.history.join(' -> ')}`);
    const held = (await canaryEvents(sb, NAME)).filter((e) => e.reason === 'AnalysisHeld');
    process.stdout.write(`faults-prometheus: queries by mode ${JSON.stringify(proxy.counts)}, ${held.length} AnalysisHeld Events, last weight before the end ${weight}\n${problems.join('\n')}\n`);
    expect(problems).toEqual([]);
    expect(held.length).toBeGreaterThan(0);
  }, 240_000);
});
