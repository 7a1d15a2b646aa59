/**
 * Fault injection by users: 56 malformed Canaries (each with its own route) applied beside three good
 * rollouts. Each must get its clear error: refused at apply by the CRD schema (a 422 naming the
 * field), or Ready=False with InvalidSpec / RouteMismatch plus an Event of that reason naming the
 * problem, with its route left untouched; the good ones must finish. Needs `npm run build`.
 */
import type { Canary } from '../../src/api/canary.js';
import type { Sandbox } from '../../src/sandbox/sandbox.js';
import {
  canaryFor,
  collectionPath,
  createWithRetry,
  FaultTally,
  MALFORMED,
  malformedRoute,
  readCanary,
  type RouteAuditor,
  rolloutObjects,
  type KubeHttp,
  type Malformed,
  closeFaultBed,
  openFaultBed,
} from '../support/faults.js';
import { canaryEvents, sleep, startController, type ControllerProcess } from '../support/harness.js';

let sb: Sandbox;
let k: KubeHttp;
let auditor: RouteAuditor;
let controller: ControllerProcess | undefined;
const tally = new FaultTally();

beforeAll(async () => {
  ({ sb, k, auditor } = await openFaultBed());
}, 60_000);

afterAll(() => closeFaultBed({ sb, k, auditor }, { label: 'faults-malformed', tally, controller }));

const readyFalse = (c: Canary | undefined) => c?.status?.conditions?.find((x) => x.type === 'Ready' && x.status === 'False');

describe('malformed Canaries beside good ones', () => {
  it(`gives each of ${MALFORMED.length} malformed Canaries its clear error and finishes the good ones`, async () => {
    const good = ['good-1', 'good-2', 'good-3'];
    for (const name of good) {
      auditor.track(name, `${name}-canary`);
      await createWithRetry(k, rolloutObjects(name, false));
      await createWithRetry(k, [canaryFor(name)]);
    }
    const applied: Array<{ m: Malformed; name: string }> = [];
    const problems: string[] = [];
    for (const [i, m] of MALFORMED.entries()) {
      const name = `bad-${String(i).padStart(2, '0')}`;
      const route = malformedRoute(name);
      const canary = structuredClone(canaryFor(name)) as unknown as Record<string, any>;
      m.mutate(canary, route);
      auditor.track(name, `${name}-canary`);
      await createWithRetry(k, [route]);
      const res = await k.request<{ message?: string }>('POST', collectionPath(canary), canary);
      if (m.expect === 'Rejected') {
        const ok = res.status === 422 && (res.body?.message ?? '').includes(m.mentions);
        tally.record('malformed Canary (refused at apply)', ok, `${m.id}: HTTP ${res.status} ${res.body?.message ?? ''}`);
        if (!ok) problems.push(`${m.id}: expected a 422 naming ${m.mentions}, got HTTP ${res.status} ${res.body?.message ?? ''}`);
        continue;
      }
      if (res.status >= 300) {
        problems.push(`${m.id}: refused at apply (HTTP ${res.status} ${res.body?.message ?? ''}), expected ${m.expect} from the controller`);
        tally.record('malformed Canary (controller)', false, `${m.id}: refused at apply`);
        continue;
      }
      applied.push({ m, name });
    }
    controller = startController(sb);

    // Every applied malformed Canary gets Ready=False; the good ones finish.
    const end = Date.now() + 120_000;
    const pending = new Set(applied.map((a) => a.name));
    const goodLeft = new Set(good);
    while ((pending.size > 0 || goodLeft.size > 0) && Date.now() < end) {
      await sleep(1_000);
      for (const name of [...pending]) if (readyFalse(await readCanary(k, name))) pending.delete(name);
      for (const name of [...goodLeft]) {
        const phase = (await readCanary(k, name))?.status?.phase;
        if (phase === 'Succeeded' || phase === 'Failed') goodLeft.delete(name);
      }
    }
    await sleep(3_000); // a tick or two more, to catch a malformed Canary that would go on to move its route

    for (const { m, name } of applied) {
      const mine: string[] = [];
      const c = await readCanary(k, name);
      const cond = readyFalse(c);
      if (!cond) mine.push(`no Ready=False condition (phase ${c?.status?.phase}, message ${c?.status?.message})`);
      else {
        if (cond.reason !== m.expect) mine.push(`Ready=False reason ${cond.reason}, expected ${m.expect}: ${cond.message}`);
        if (!(cond.message ?? '').includes(m.mentions)) mine.push(`condition message does not mention "${m.mentions}": ${cond.message}`);
      }
      const events = await canaryEvents(sb, name);
      if (!events.some((e) => e.reason === m.expect && e.type === 'Warning')) mine.push(`no ${m.expect} Warning Event (got ${events.map((e) => e.reason).join(',') || 'none'})`);
      const audit = auditor.audit(name);
      if (audit.history.some((w) => w !== 0)) mine.push(`its route was changed: canary weights ${audit.history.join(' -> ')}`);
      tally.record('malformed Canary (controller)', mine.length === 0, `${m.id}: ${mine.join('; ')}`);
      problems.push(...mine.map((x) => `${m.id}: ${x}`));
    }
    for (const name of good) {
      const c = await readCanary(k, name);
      const ok = c?.status?.phase === 'Succeeded';
      tally.record('good Canary beside malformed ones', ok, `${name}: ${c?.status?.phase} ${c?.status?.message}`);
      if (!ok) problems.push(`${name}: ended ${c?.status?.phase}: ${c?.status?.message}`);
    }
    process.stdout.write(`faults-malformed: ${MALFORMED.length} malformed (${applied.length} applied, ${MALFORMED.length - applied.length} refused at apply)\n${problems.join('\n')}\n`);
    expect(problems).toEqual([]);
  }, 240_000);
});
