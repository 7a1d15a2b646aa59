import type { HookType, WebhookSpec } from '../api/canary.js';
import { FakeClock, flushMicrotasks } from '../core/clock.js';
import { closedPort, startReceiver, type Receiver } from '../../test/support/hook-receiver.js';
import { createHookRunner as createRunner, type HookRunnerOptions } from './runner.js';
import { createOutboundPolicy } from './outbound.js';
import { allPassed, hooksOfType, runGates } from './gates.js';
import { notifyEventHook } from './event.js';
import type { HookCall, HookPayload } from './types.js';

const payload: HookPayload = {
  name: 'podinfo',
  namespace: 'test',
  phase: 'Progressing',
  weight: 20,
  revision: 'a1b2c3',
  type: 'rollout',
  metadata: { cluster: 'dev', cmd: 'from-controller' },
};

// The receiver listens on loopback, which the default outbound policy refuses (outbound.test.ts covers that).
const loopback = createOutboundPolicy({ allow: ['127.0.0.1'], deny: [], allowOnlyListed: false });
const createHookRunner = (o: HookRunnerOptions = {}) => createRunner({ outbound: loopback, ...o });

const ALL_TYPES: HookType[] = [
  'pre-rollout',
  'rollout',
  'confirm-rollout',
  'confirm-traffic-increase',
  'confirm-promotion',
  'post-rollout',
  'rollback',
  'event',
];

/** A FakeClock that remembers every sleep, so a test can wait until the code under test parks. */
class WatchedClock extends FakeClock {
  readonly sleeps: number[] = [];
  override sleep(ms: number, signal?: AbortSignal): Promise<void> {
    this.sleeps.push(ms);
    return super.sleep(ms, signal);
  }
  /** Resolves once a sleep of `ms` has been asked for (each delay in these tests is distinct). */
  async waitForSleep(ms: number): Promise<void> {
    // Bounded so a broken runner fails the test instead of spinning past jest's timeout.
    for (let i = 0; !this.sleeps.includes(ms); i++) {
      if (i > 20_000) throw new Error(`no sleep(${ms}) was requested`);
      await flushMicrotasks(1);
    }
  }
}

let rx: Receiver;
const live = new AbortController();
const run = { signal: live.signal, approved: false };

beforeAll(async () => {
  rx = await startReceiver();
});
afterAll(async () => {
  live.abort();
  await rx.close();
});

describe('payload', () => {
  it.each(ALL_TYPES)('POSTs the documented JSON payload to a %s hook', async (type) => {
    const path = `/payload/${type}`;
    const runner = createHookRunner();
    const hook: WebhookSpec = { name: `h-${type}`, type, url: rx.url(path), metadata: { cmd: 'hey -z 1m', token: 't' } };
    const r = await runner.run(hook, payload, run);
    expect(r.name).toBe(`h-${type}`);
    expect(r.type).toBe(type);
    const [req] = rx.to(path);
    expect(req?.method).toBe('POST');
    expect(req?.headers['content-type']).toBe('application/json');
    expect(req?.body).toEqual({
      name: 'podinfo',
      namespace: 'test',
      phase: 'Progressing',
      weight: 20,
      revision: 'a1b2c3',
      type,
      // the hook's own metadata wins over the controller's on the same key
      metadata: { cluster: 'dev', cmd: 'hey -z 1m', token: 't' },
    });
  });
});

describe('status codes', () => {
  it.each([200, 201, 202, 204])('HTTP %i passes', async (status) => {
    const path = `/ok/${status}`;
    rx.on(path, { status });
    const r = await createHookRunner().run({ name: 'smoke', type: 'rollout', url: rx.url(path) }, payload, run);
    expect(r).toEqual({ name: 'smoke', type: 'rollout', passed: true, message: `rollout check 'smoke' passed: HTTP ${status}` });
  });

  it('403 closes a confirm gate, with the reason from the body, and is not retried', async () => {
    rx.on('/gate/halt', { status: 403, body: 'waiting for QA sign-off\nmore lines' });
    const hook: WebhookSpec = { name: 'approval', type: 'confirm-promotion', url: rx.url('/gate/halt'), retries: 3 };
    const r = await createHookRunner({ retryDelayMs: 1 }).run(hook, payload, run);
    expect(r.passed).toBe(false);
    expect(r.message).toBe("confirm-promotion gate 'approval' closed: HTTP 403: waiting for QA sign-off");
    expect(rx.to('/gate/halt')).toHaveLength(1);
  });

  it('500 is retried `retries` times, then fails with the status', async () => {
    rx.on('/flaky/always', { status: 500, body: 'boom' });
    const hook: WebhookSpec = { name: 'smoke', type: 'rollout', url: rx.url('/flaky/always'), retries: 2 };
    const r = await createHookRunner({ retryDelayMs: 1 }).run(hook, payload, run);
    expect(r.passed).toBe(false);
    expect(r.message).toBe("rollout check 'smoke' failed: HTTP 500: boom (after 3 attempts)");
    expect(rx.to('/flaky/always')).toHaveLength(3);
  });

  it('backs off exponentially between retries, on the injected clock', async () => {
    rx.on('/flaky/backoff', { status: 500 });
    const clock = new WatchedClock();
    const hook: WebhookSpec = { name: 'smoke', type: 'rollout', url: rx.url('/flaky/backoff'), retries: 3 };
    const pending = createHookRunner({ clock }).run(hook, payload, run);
    for (const delay of [1000, 2000, 4000]) {
      await clock.waitForSleep(delay);
      expect(rx.to('/flaky/backoff')).toHaveLength(Math.log2(delay / 1000) + 1);
      await clock.advance(delay);
    }
    const r = await pending;
    expect(r.message).toBe("rollout check 'smoke' failed: HTTP 500 (after 4 attempts)");
    expect(clock.sleeps.filter((ms) => ms !== 10_000)).toEqual([1000, 2000, 4000]);
  });

  it('a 5xx followed by a 2xx passes', async () => {
    rx.on('/flaky/once', (_req, nth) => (nth === 1 ? { status: 503 } : { status: 200 }));
    const hook: WebhookSpec = { name: 'smoke', type: 'pre-rollout', url: rx.url('/flaky/once'), retries: 2 };
    const r = await createHookRunner({ retryDelayMs: 1 }).run(hook, payload, run);
    expect(r.passed).toBe(true);
    expect(r.message).toBe("pre-rollout check 'smoke' passed: HTTP 200 (after 2 attempts)");
    expect(rx.to('/flaky/once')).toHaveLength(2);
  });

  it('without retries a 500 is called once', async () => {
    rx.on('/flaky/no-retries', { status: 502 });
    const r = await createHookRunner({ retryDelayMs: 1 }).run({ name: 'x', type: 'rollout', url: rx.url('/flaky/no-retries') }, payload, run);
    expect(r.message).toBe("rollout check 'x' failed: HTTP 502");
    expect(rx.to('/flaky/no-retries')).toHaveLength(1);
  });

  it('a redirect is not followed and does not pass', async () => {
    rx.on('/moved', { status: 302 });
    const r = await createHookRunner().run({ name: 'x', type: 'rollout', url: rx.url('/moved') }, payload, run);
    expect(r.passed).toBe(false);
    expect(r.message).toBe("rollout check 'x' failed: HTTP 302");
  });

  it('rollback and post-rollout hooks report succeeded or failed', async () => {
    rx.on('/after/ok', { status: 200 });
    rx.on('/after/fail', { status: 404 });
    const runner = createHookRunner();
    const ok = await runner.run({ name: 'cleanup', type: 'rollback', url: rx.url('/after/ok') }, payload, run);
    const no = await runner.run({ name: 'release-notes', type: 'post-rollout', url: rx.url('/after/fail') }, payload, run);
    expect([ok.passed, ok.message]).toEqual([true, "rollback hook 'cleanup' succeeded: HTTP 200"]);
    expect([no.passed, no.message]).toEqual([false, "post-rollout hook 'release-notes' failed: HTTP 404"]);
  });
});

describe('network errors and timeouts', () => {
  it('connection refused fails with the error', async () => {
    const port = await closedPort();
    const hook: WebhookSpec = { name: 'smoke', type: 'rollout', url: `http://127.0.0.1:${port}/` };
    const r = await createHookRunner().run(hook, payload, run);
    expect(r.passed).toBe(false);
    expect(r.message).toMatch(/^rollout check 'smoke' failed: connect ECONNREFUSED 127\.0\.0\.1:\d+$/);
  });

  it('a dropped connection is retried like a 5xx', async () => {
    rx.on('/drop', 'destroy');
    const hook: WebhookSpec = { name: 'smoke', type: 'rollout', url: rx.url('/drop'), retries: 1 };
    const r = await createHookRunner({ retryDelayMs: 1 }).run(hook, payload, run);
    expect(r.passed).toBe(false);
    expect(r.message).toMatch(/^rollout check 'smoke' failed: .*socket hang up.* \(after 2 attempts\)$/);
    expect(rx.to('/drop')).toHaveLength(2);
  });

  it('honours a short timeout on a receiver that never answers', async () => {
    rx.on('/hang/short', 'hang');
    const hook: WebhookSpec = { name: 'slow', type: 'confirm-rollout', url: rx.url('/hang/short'), timeout: '150ms' };
    const r = await createHookRunner().run(hook, payload, run);
    expect(r).toEqual({ name: 'slow', type: 'confirm-rollout', passed: false, message: "confirm-rollout gate 'slow' closed: timed out after 150ms" });
  });

  it('uses the 10s default timeout, measured on the injected clock', async () => {
    rx.on('/hang/default', 'hang');
    const clock = new FakeClock();
    const calls: HookCall[] = [];
    const runner = createHookRunner({ clock, onCall: (c) => calls.push(c) });
    let settled = false;
    const pending = runner.run({ name: 'slow', type: 'rollout', url: rx.url('/hang/default') }, payload, run).finally(() => {
      settled = true;
    });
    await rx.waitFor('/hang/default', 1);
    await clock.advance(9_999);
    await flushMicrotasks();
    expect(settled).toBe(false);
    await clock.advance(1);
    const r = await pending;
    expect(r.message).toBe("rollout check 'slow' failed: timed out after 10s");
    expect(calls).toEqual([{ type: 'rollout', name: 'slow', ok: false, durationMs: 10_000 }]);
  });

  it('an invalid timeout fails the hook without calling it', async () => {
    const r = await createHookRunner().run({ name: 'x', type: 'rollout', url: rx.url('/never'), timeout: 'soon' }, payload, run);
    expect(r.passed).toBe(false);
    expect(r.message).toContain('"soon" is not a duration');
    expect(rx.to('/never')).toHaveLength(0);
  });
});

describe('abort', () => {
  it('aborting the signal ends a pending call at once', async () => {
    rx.on('/hang/abort', 'hang');
    const ctl = new AbortController();
    const pending = createHookRunner().run({ name: 'slow', type: 'rollout', url: rx.url('/hang/abort'), timeout: '5m' }, payload, {
      signal: ctl.signal,
      approved: false,
    });
    await rx.waitFor('/hang/abort', 1);
    ctl.abort();
    const r = await pending;
    expect(r).toEqual({ name: 'slow', type: 'rollout', passed: false, message: "rollout check 'slow' failed: aborted" });
  });

  it('aborting during the retry backoff stops the retries', async () => {
    rx.on('/abort/backoff', { status: 500 });
    const clock = new WatchedClock();
    const ctl = new AbortController();
    const hook: WebhookSpec = { name: 'x', type: 'rollout', url: rx.url('/abort/backoff'), retries: 5 };
    const pending = createHookRunner({ clock }).run(hook, payload, { signal: ctl.signal, approved: false });
    await clock.waitForSleep(1000);
    ctl.abort();
    const r = await pending;
    expect(r.passed).toBe(false);
    expect(r.message).toBe("rollout check 'x' failed: aborted");
    expect(rx.to('/abort/backoff')).toHaveLength(1);
  });

  it('an already aborted signal sends nothing', async () => {
    const ctl = new AbortController();
    ctl.abort();
    const r = await createHookRunner().run({ name: 'x', type: 'rollout', url: rx.url('/pre-aborted') }, payload, { signal: ctl.signal, approved: false });
    expect(r.message).toBe("rollout check 'x' failed: aborted");
    expect(rx.to('/pre-aborted')).toHaveLength(0);
  });
});

describe('manual gates', () => {
  const gate: WebhookSpec = { name: 'approval', type: 'confirm-promotion' };

  it('a confirm hook without url is closed until approved, and makes no call', async () => {
    const calls: HookCall[] = [];
    const runner = createHookRunner({ onCall: (c) => calls.push(c) });
    const closed = await runner.run(gate, payload, { signal: live.signal, approved: false });
    const open = await runner.run(gate, payload, { signal: live.signal, approved: true });
    expect(closed).toEqual({
      name: 'approval',
      type: 'confirm-promotion',
      passed: false,
      message: "confirm-promotion gate 'approval' closed: waiting for approval (routeshift promote / resume)",
    });
    expect(open).toEqual({ name: 'approval', type: 'confirm-promotion', passed: true, message: "confirm-promotion gate 'approval' open: approved" });
    expect(calls).toEqual([]);
  });

  it('approval does not open a gate that has a url', async () => {
    rx.on('/gate/closed', { status: 403 });
    const r = await createHookRunner().run({ ...gate, url: rx.url('/gate/closed') }, payload, { signal: live.signal, approved: true });
    expect(r.passed).toBe(false);
  });

  it('a non-confirm hook without url fails', async () => {
    const r = await createHookRunner().run({ name: 'smoke', type: 'rollout' }, payload, { signal: live.signal, approved: true });
    expect(r.passed).toBe(false);
    expect(r.message).toBe("rollout check 'smoke' failed: no url (only confirm-* hooks may omit it, as manual gates)");
  });
});

describe('runGates and hooksOfType', () => {
  it('hooksOfType keeps spec order and the type only', () => {
    const spec = {
      interval: '1m',
      threshold: 2,
      webhooks: [
        { name: 'a', type: 'rollout' as const, url: 'http://a' },
        { name: 'b', type: 'confirm-promotion' as const },
        { name: 'c', type: 'rollout' as const, url: 'http://c' },
      ],
    };
    expect(hooksOfType(spec, 'rollout').map((h) => h.name)).toEqual(['a', 'c']);
    expect(hooksOfType(spec, 'event')).toEqual([]);
    expect(hooksOfType(undefined, 'rollout')).toEqual([]);
  });

  it('runs the hooks concurrently and keeps each result', async () => {
    // Each receiver answers only once the other has been called: sequential calls would time out.
    rx.on('/gates/a', async () => {
      await rx.waitFor('/gates/b', 1);
      return { status: 200 };
    });
    rx.on('/gates/b', async () => {
      await rx.waitFor('/gates/a', 1);
      return { status: 403 };
    });
    const hooks: WebhookSpec[] = [
      { name: 'a', type: 'confirm-traffic-increase', url: rx.url('/gates/a'), timeout: '5s' },
      { name: 'b', type: 'confirm-traffic-increase', url: rx.url('/gates/b'), timeout: '5s' },
      { name: 'manual', type: 'confirm-traffic-increase' },
    ];
    const results = await runGates(createHookRunner(), hooks, payload, { signal: live.signal, approved: true });
    expect(results.map((r) => [r.name, r.passed])).toEqual([
      ['a', true],
      ['b', false],
      ['manual', true],
    ]);
    expect(results[1]?.message).toBe("confirm-traffic-increase gate 'b' closed: HTTP 403");
    expect(allPassed(results)).toBe(false);
    expect(allPassed([])).toBe(true);
  });

  it('a runner that throws becomes a failed result', async () => {
    const throwing = { run: () => Promise.reject(new Error('bug')) };
    const results = await runGates(throwing, [{ name: 'x', type: 'rollout', url: 'http://x' }], payload, run);
    expect(results).toEqual([{ name: 'x', type: 'rollout', passed: false, message: "rollout check 'x' failed: bug" }]);
  });
});

describe('event hooks', () => {
  it('sends the event in the payload and its metadata', async () => {
    const spec = { interval: '1m', threshold: 2, webhooks: [{ name: 'ev', type: 'event' as const, url: rx.url('/events'), metadata: { team: 'a' } }] };
    const { type: _type, ...base } = payload;
    const results = await notifyEventHook(
      createHookRunner(),
      spec,
      base,
      { reason: 'WeightAdvanced', type: 'Normal', message: 'canary weight 20 -> 40', time: 1767225600000 },
      { signal: live.signal },
    );
    expect(results.map((r) => r.message)).toEqual(["event hook 'ev' delivered: HTTP 200"]);
    const [req] = rx.to('/events');
    expect(req?.body).toEqual({
      name: 'podinfo',
      namespace: 'test',
      phase: 'Progressing',
      weight: 20,
      revision: 'a1b2c3',
      type: 'event',
      message: 'canary weight 20 -> 40',
      metadata: {
        cluster: 'dev',
        cmd: 'from-controller',
        team: 'a',
        eventReason: 'WeightAdvanced',
        eventType: 'Normal',
        eventMessage: 'canary weight 20 -> 40',
        timestamp: '1767225600000',
      },
    });
  });

  it('does nothing without event hooks', async () => {
    const { type: _type, ...base } = payload;
    const results = await notifyEventHook(createHookRunner(), undefined, base, { reason: 'X', type: 'Normal', message: 'm', time: 0 }, { signal: live.signal });
    expect(results).toEqual([]);
  });
});
