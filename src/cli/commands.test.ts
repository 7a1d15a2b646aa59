import { Command } from 'commander';
import { parse as parseYaml } from 'yaml';
import { abort } from './commands/abort.js';
import { runCommand, type CliRuntime, type Connection } from './commands/context.js';
import { EXIT } from './commands/errors.js';
import { registerOperatorCommands } from './commands/index.js';
import { list } from './commands/list.js';
import { pause } from './commands/pause.js';
import { promote } from './commands/promote.js';
import { requestValue } from './commands/requests.js';
import { resume } from './commands/resume.js';
import { retry } from './commands/retry.js';
import { status } from './commands/status.js';
import { KubeconfigError, type KubeFlags } from './kube.js';
import type { StatusView } from './render.js';
import { FakeClock } from '../core/clock.js';
import { revisionOf } from '../controller/revision.js';
import { KubeApiError } from '../kube/errors.js';
import { ANNOTATIONS, canary, context, event, FakeCanaryStore, FakeEvents, fakeIO, iso, progressing, ScriptedWatch, started, T0 } from './testing.js';

/** Runs a command body as the CLI does: errors become `error: ...` on stderr and an exit code. */
async function run(store: FakeCanaryStore, body: (ctx: ReturnType<typeof context>['ctx']) => Promise<number>, events?: FakeEvents) {
  const { ctx, out, err } = context(store, events ? { events } : {});
  const code = await runCommand(ctx.io, { namespace: ctx.namespace, name: 'podinfo', server: 'https://127.0.0.1:6443' }, () => body(ctx));
  return { code, out: out.text, err: err.text };
}

describe('status', () => {
  const events = new FakeEvents([
    ...Array.from({ length: 12 }, (_, i) => event(`old${i}`, 'AnalysisHeld', `held ${i}`, -900_000 + i * 1000, { involvedUid: 'uid-podinfo' })),
    event('stale', 'Promoted', 'from a deleted canary of the same name', -100, { involvedUid: 'some-older-uid' }),
    event('new', 'CheckFailed', 'latency-p99 612.4 above 500', -30_000, { type: 'Warning', involvedUid: 'uid-podinfo' }),
  ]);

  it('prints the status page with the last 10 events of this canary, oldest first', async () => {
    const r = await run(new FakeCanaryStore(progressing()), (ctx) => status(ctx, 'podinfo'), events);
    expect(r.code).toBe(EXIT.ok);
    expect(r.out).toMatch(/^Weights: +stable ████████░░ 80 \| canary 20$/m);
    expect(r.out).toContain('held 11');
    expect(r.out).toContain('held 3');
    expect(r.out).not.toContain('held 2\n');
    expect(r.out).not.toContain('from a deleted canary');
    expect(r.out.indexOf('held 11')).toBeLessThan(r.out.indexOf('latency-p99 612.4 above 500\n'));
  });

  it('-o json gives the status view with metrics, conditions and events', async () => {
    const r = await run(new FakeCanaryStore(progressing()), (ctx) => status(ctx, 'podinfo', { output: 'json' }), events);
    const v = JSON.parse(r.out) as StatusView;
    expect(v.phase).toBe('Progressing');
    expect(v.weights).toEqual({ stable: 80, canary: 20 });
    expect(v.step).toMatchObject({ current: 2, total: 5 });
    expect(v.metrics.map((m) => [m.name, m.verdict])).toEqual([
      ['request-success-rate', 'pass'],
      ['latency-p99', 'fail'],
    ]);
    expect(v.events).toHaveLength(10);
    expect(v.events.at(-1)?.reason).toBe('CheckFailed');
  });

  it('-o yaml gives the same view', async () => {
    const r = await run(new FakeCanaryStore(progressing()), (ctx) => status(ctx, 'podinfo', { output: 'yaml' }));
    const v = parseYaml(r.out) as StatusView;
    expect(v.failedChecks).toBe(1);
    expect(v.threshold).toBe(5);
  });

  it('without permission to list Events it still shows the Canary, with a warning', async () => {
    const denied = new FakeEvents();
    denied.failWith = new KubeApiError(403, 'list Events of Canary shop/podinfo: HTTP 403: events is forbidden');
    const r = await run(new FakeCanaryStore(progressing()), (ctx) => status(ctx, 'podinfo'), denied);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^Phase: +Progressing$/m);
    expect(r.err).toBe('warning: cannot list Events (list Events of Canary shop/podinfo: HTTP 403: events is forbidden); showing the Canary without them\n');
  });

  it('an unknown canary exits 4 with kubectl-style wording', async () => {
    const r = await run(new FakeCanaryStore(), (ctx) => status(ctx, 'nope'));
    expect(r.code).toBe(4);
    expect(r.err).toBe('error: canary "nope" not found in namespace "shop"\n');
    expect(r.out).toBe('');
  });

  it('403 exits 5 with the API message', async () => {
    const store = new FakeCanaryStore(progressing());
    store.failWith = new KubeApiError(403, 'get Canary shop/podinfo: HTTP 403: canaries.routeshift.io "podinfo" is forbidden: User "dev" cannot get resource', 'Forbidden');
    const r = await run(store, (ctx) => status(ctx, 'podinfo'));
    expect(r.code).toBe(5);
    expect(r.err).toContain('is forbidden: User "dev" cannot get resource');
  });

  it('an unreachable API exits 6 and names the server', async () => {
    const store = new FakeCanaryStore(progressing());
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:6443'), { code: 'ECONNREFUSED' });
    store.failWith = new KubeApiError(0, 'get Canary shop/podinfo: request failed', undefined, refused);
    const r = await run(store, (ctx) => status(ctx, 'podinfo'));
    expect(r.code).toBe(6);
    expect(r.err).toBe('error: cannot reach the Kubernetes API at https://127.0.0.1:6443: connect ECONNREFUSED 127.0.0.1:6443\n');
  });

  it('other API errors exit 2', async () => {
    const store = new FakeCanaryStore(progressing());
    store.failWith = new KubeApiError(500, 'get Canary shop/podinfo: HTTP 500: etcd is sad');
    const r = await run(store, (ctx) => status(ctx, 'podinfo'));
    expect(r.code).toBe(2);
    expect(r.err).toContain('etcd is sad');
  });
});

describe('list', () => {
  const store = () => new FakeCanaryStore(progressing('web', 'shop'), canary('api', 'shop'), progressing('pay', 'billing'));

  it('lists the namespace by default', async () => {
    const s = store();
    const r = await run(s, (ctx) => list(ctx));
    expect(s.lists).toEqual(['shop']);
    expect(r.out.trimEnd().split('\n')).toHaveLength(3);
    expect(r.out).toMatch(/^shop +web +Progressing +20 +1\/5 +60m$/m);
    expect(r.out).not.toContain('billing');
  });

  it('-A lists every namespace', async () => {
    const s = store();
    const r = await run(s, (ctx) => list(ctx, { allNamespaces: true }));
    expect(s.lists).toEqual([undefined]);
    expect(r.out).toMatch(/^billing +pay +Progressing/m);
    expect(r.out.trimEnd().split('\n')).toHaveLength(4);
  });

  it('says so when there is nothing, on stderr', async () => {
    const r = await run(new FakeCanaryStore(), (ctx) => list(ctx));
    expect(r.code).toBe(0);
    expect(r.out).toBe('');
    expect(r.err).toBe('No canaries found in namespace "shop".\n');
  });

  it('a missing CRD (404 on list) exits 4 and says what to install', async () => {
    const s = new FakeCanaryStore();
    s.failWith = new KubeApiError(404, 'list Canaries: HTTP 404: the server could not find the requested resource');
    const { ctx, err } = context(s);
    const code = await runCommand(ctx.io, { namespace: 'shop' }, () => list(ctx));
    expect(code).toBe(4);
    expect(err.text).toContain('is the routeshift CRD installed');
  });
});

describe('steering commands', () => {
  it('requestValue is the request time, made unique against earlier values', () => {
    expect(requestValue(T0)).toBe('2026-01-01T12:00:00.000Z');
    expect(requestValue(T0, '2026-01-01T12:00:00.000Z')).toBe('2026-01-01T12:00:00.000Z#2');
    expect(requestValue(T0, '2026-01-01T12:00:00.000Z', '2026-01-01T12:00:00.000Z#2')).toBe('2026-01-01T12:00:00.000Z#3');
  });

  describe('promote', () => {
    it('refuses without --yes, explains, and changes nothing (exit 2)', async () => {
      const s = new FakeCanaryStore(progressing());
      const r = await run(s, (ctx) => promote(ctx, 'podinfo'));
      expect(r.code).toBe(2);
      expect(r.err).toMatch(/^error: promote skips the remaining analysis steps .* add --yes to confirm/);
      expect(s.patches).toEqual([]);
    });

    it('sets promote and approve to a fresh value', async () => {
      const c = progressing();
      c.metadata.annotations = { [ANNOTATIONS.approve]: '2026-01-01T12:00:00.000Z' };
      const s = new FakeCanaryStore(c);
      const r = await run(s, (ctx) => promote(ctx, 'podinfo', { yes: true }));
      expect(r.code).toBe(0);
      expect(s.patches).toEqual([
        {
          namespace: 'shop',
          name: 'podinfo',
          body: { metadata: { annotations: { [ANNOTATIONS.promote]: '2026-01-01T12:00:00.000Z', [ANNOTATIONS.approve]: '2026-01-01T12:00:00.000Z#2' } } },
        },
      ]);
      expect(r.out).toContain('promotion requested');
    });

    it('refuses when no rollout is running, so the request cannot leak into the next one', async () => {
      const s = new FakeCanaryStore(started(canary(), { phase: 'Succeeded', canaryWeight: 100 }));
      const r = await run(s, (ctx) => promote(ctx, 'podinfo', { yes: true }));
      expect(r.code).toBe(2);
      expect(r.err).toContain('has no rollout in progress (phase Succeeded)');
      expect(s.patches).toEqual([]);
    });

    it('accepts a rollout about to start (new revision not picked up yet)', async () => {
      const c = started(canary(), { phase: 'Succeeded', canaryWeight: 100 });
      c.spec.canary.name = 'podinfo-v3';
      const s = new FakeCanaryStore(c);
      expect((await run(s, (ctx) => promote(ctx, 'podinfo', { yes: true }))).code).toBe(0);
      expect(s.patches).toHaveLength(1);
    });

    it('does nothing when already promoting', async () => {
      const s = new FakeCanaryStore(progressing('podinfo', 'shop', { phase: 'Promoting' }));
      const r = await run(s, (ctx) => promote(ctx, 'podinfo', { yes: true }));
      expect(r.code).toBe(0);
      expect(r.out).toContain('already being promoted');
      expect(s.patches).toEqual([]);
    });
  });

  describe('abort', () => {
    it('sets the abort annotation to a value the controller has not handled', async () => {
      const c = progressing('podinfo', 'shop', { handledAnnotations: { [ANNOTATIONS.abort]: '2026-01-01T12:00:00.000Z' } });
      const s = new FakeCanaryStore(c);
      const r = await run(s, (ctx) => abort(ctx, 'podinfo'));
      expect(r.code).toBe(0);
      expect(s.stored('shop', 'podinfo').metadata.annotations?.[ANNOTATIONS.abort]).toBe('2026-01-01T12:00:00.000Z#2');
      expect(r.out).toContain('rollback requested');
    });

    it('refuses on an idle canary and is a no-op while rolling back', async () => {
      const idle = new FakeCanaryStore(started(canary(), { phase: 'Failed' }));
      const r1 = await run(idle, (ctx) => abort(ctx, 'podinfo'));
      expect(r1.code).toBe(2);
      expect(r1.err).toContain('nothing to abort');
      const back = new FakeCanaryStore(progressing('podinfo', 'shop', { phase: 'RollingBack' }));
      const r2 = await run(back, (ctx) => abort(ctx, 'podinfo'));
      expect(r2.code).toBe(0);
      expect(back.patches).toEqual([]);
    });

    it('unknown canary exits 4', async () => {
      const r = await run(new FakeCanaryStore(), (ctx) => abort(ctx, 'ghost'));
      expect(r.code).toBe(4);
      expect(r.err).toBe('error: canary "ghost" not found in namespace "shop"\n');
    });
  });

  describe('retry', () => {
    it('sets a new retry value, which makes a new revision for the controller', async () => {
      const c = started(canary(), { phase: 'Failed', canaryWeight: 0 });
      const s = new FakeCanaryStore(c);
      const r = await run(s, (ctx) => retry(ctx, 'podinfo'));
      expect(r.code).toBe(0);
      const after = s.stored('shop', 'podinfo');
      expect(after.metadata.annotations?.[ANNOTATIONS.retry]).toBe('2026-01-01T12:00:00.000Z');
      expect(revisionOf(after)).not.toBe(c.status?.revision);
      expect(r.out).toContain('last rollout: Failed');
    });

    it('a second retry in the same millisecond still changes the value', async () => {
      const s = new FakeCanaryStore(started(canary(), { phase: 'Failed' }));
      await run(s, (ctx) => retry(ctx, 'podinfo'));
      await run(s, (ctx) => retry(ctx, 'podinfo'));
      const values = s.patches.map((p) => (p.body as { metadata: { annotations: Record<string, string> } }).metadata.annotations[ANNOTATIONS.retry]);
      expect(new Set(values).size).toBe(2);
    });
  });

  describe('pause and resume', () => {
    it('pause merge-patches spec.suspend=true and nothing else', async () => {
      const s = new FakeCanaryStore(progressing());
      const r = await run(s, (ctx) => pause(ctx, 'podinfo'));
      expect(r.code).toBe(0);
      expect(s.patches[0]?.body).toEqual({ spec: { suspend: true } });
      expect(s.stored('shop', 'podinfo').spec.suspend).toBe(true);
      expect(s.stored('shop', 'podinfo').spec.routeRef.name).toBe('podinfo-route');
      expect(r.out).toContain('weights stay at canary 20');
    });

    it('pause on a paused canary changes nothing', async () => {
      const c = progressing();
      c.spec.suspend = true;
      const s = new FakeCanaryStore(c);
      expect((await run(s, (ctx) => pause(ctx, 'podinfo'))).out).toContain('already paused');
      expect(s.patches).toEqual([]);
    });

    it('resume sets spec.suspend=false and approves manual gates', async () => {
      const c = progressing('podinfo', 'shop', { phase: 'Waiting' });
      c.spec.suspend = true;
      const s = new FakeCanaryStore(c);
      const r = await run(s, (ctx) => resume(ctx, 'podinfo'));
      expect(r.code).toBe(0);
      expect(s.patches[0]?.body).toEqual({ metadata: { annotations: { [ANNOTATIONS.approve]: '2026-01-01T12:00:00.000Z' } }, spec: { suspend: false } });
      expect(s.stored('shop', 'podinfo').spec.suspend).toBe(false);
      expect(r.out).toContain('resumed (spec.suspend=false); manual gates approved');
    });

    it('a forbidden patch exits 5', async () => {
      const s = new FakeCanaryStore(progressing());
      s.patch = async () => {
        throw new KubeApiError(403, 'patch Canary shop/podinfo: HTTP 403: canaries.routeshift.io "podinfo" is forbidden: cannot patch');
      };
      const r = await run(s, (ctx) => pause(ctx, 'podinfo'));
      expect(r.code).toBe(5);
      expect(r.err).toContain('cannot patch');
    });
  });
});

describe('register (commander wiring)', () => {
  function harness(store: FakeCanaryStore, connectError?: Error) {
    const { io, out, err } = fakeIO();
    const codes: number[] = [];
    const seen: KubeFlags[] = [];
    const runtime: CliRuntime = {
      io,
      clock: new FakeClock(T0),
      connect(flags): Connection {
        seen.push(flags);
        if (connectError) throw connectError;
        return { namespace: flags.namespace ?? 'shop', server: 'https://127.0.0.1:6443', store, events: new FakeEvents(), watch: new ScriptedWatch() };
      },
      exit: (code) => codes.push(code),
      interrupts: () => () => undefined,
      exitNow(code, e) {
        codes.push(code);
        throw e; // stands in for process.exit
      },
    };
    const program = new Command().configureOutput({ writeErr: (s) => err.write(s), writeOut: (s) => out.write(s) });
    registerOperatorCommands(program, runtime);
    const parse = (...args: string[]) => program.parseAsync(args, { from: 'user' }).catch((e: unknown) => e);
    return { parse, out, err, codes, seen };
  }

  it('passes -n/--context/--kubeconfig through and records the exit code', async () => {
    const h = harness(new FakeCanaryStore(progressing('podinfo', 'prod')));
    await h.parse('status', 'podinfo', '-n', 'prod', '--context', 'kind', '--kubeconfig', '/tmp/kc', '-o', 'json');
    expect(h.seen).toEqual([{ namespace: 'prod', context: 'kind', kubeconfig: '/tmp/kc' }]);
    expect(h.codes).toEqual([0]);
    expect((JSON.parse(h.out.text) as StatusView).namespace).toBe('prod');
  });

  it('promote without --yes exits 2; with -y it patches', async () => {
    const store = new FakeCanaryStore(progressing());
    const h = harness(store);
    await h.parse('promote', 'podinfo');
    await h.parse('promote', 'podinfo', '-y');
    expect(h.codes).toEqual([2, 0]);
    expect(store.patches).toHaveLength(1);
  });

  it('list -A, pause, resume, retry, abort reach their commands', async () => {
    const store = new FakeCanaryStore(progressing());
    const h = harness(store);
    await h.parse('list', '-A');
    await h.parse('pause', 'podinfo');
    await h.parse('resume', 'podinfo');
    await h.parse('retry', 'podinfo');
    await h.parse('abort', 'podinfo');
    expect(h.codes).toEqual([0, 0, 0, 0, 0]);
    expect(store.lists).toEqual([undefined]);
    expect(store.patches.map((p) => Object.keys((p.body as { metadata?: { annotations?: object } }).metadata?.annotations ?? {}))).toEqual([
      [],
      [ANNOTATIONS.approve],
      [ANNOTATIONS.retry],
      [ANNOTATIONS.abort],
    ]);
  });

  it('no kubeconfig exits 6 with the reason', async () => {
    const h = harness(new FakeCanaryStore(), new KubeconfigError('no kubeconfig found: pass --kubeconfig, set KUBECONFIG, or create ~/.kube/config'));
    await h.parse('list');
    expect(h.codes).toEqual([6]);
    expect(h.err.text).toBe('error: no kubeconfig found: pass --kubeconfig, set KUBECONFIG, or create ~/.kube/config\n');
  });

  it("commander's own usage errors exit 2, not 1 (which watch uses for a rollback); --help exits 0", async () => {
    const h = harness(new FakeCanaryStore(progressing()));
    await h.parse('watch', 'podinfo', '--timout', '30m');
    await h.parse('status');
    await h.parse('status', 'podinfo', '-o', 'xml');
    await h.parse('list', '--help');
    expect(h.codes).toEqual([2, 2, 2, 0]);
    expect(h.err.text).toContain("unknown option '--timout'");
    expect(h.out.text).toContain('--all-namespaces');
    expect(h.seen).toEqual([]);
  });

  it('watch rejects a malformed --timeout with exit 2', async () => {
    const h = harness(new FakeCanaryStore(progressing()));
    await h.parse('watch', 'podinfo', '--timeout', 'soon');
    expect(h.codes).toEqual([2]);
    expect(h.err.text).toContain('--timeout');
  });
});

// Keep the fixture helpers honest: the fixture's times are what the assertions above assume.
test('fixture times', () => {
  expect(iso(0)).toBe(new Date(T0).toISOString());
});
