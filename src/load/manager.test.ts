import type { Canary, WebhookSpec } from '../api/canary.js';
import { FakeClock, flushMicrotasks } from '../core/clock.js';
import { createOutboundPolicy } from '../hooks/outbound.js';
import type { SendResult } from './generator.js';
import { LoadManager, type LoadEvent } from './manager.js';

const canary = (name = 'app', phase = 'Progressing'): Canary =>
  ({ apiVersion: 'routeshift.io/v1alpha1', kind: 'Canary', metadata: { name, namespace: 'shop' }, spec: { analysis: { interval: '1m', threshold: 5 } }, status: { phase } }) as unknown as Canary;
const hook = (cmd: string, name = 'load-test'): WebhookSpec => ({ name, type: 'rollout', metadata: { cmd } });

function setup(caps = { perCanary: 50, total: 200 }) {
  const clock = new FakeClock(0);
  const events: LoadEvent[] = [];
  const sent: string[] = [];
  const phases = new Map<string, string | undefined>();
  const m = new LoadManager({
    clock,
    policy: createOutboundPolicy(),
    caps,
    stopReason: (_ns, name) => {
      const p = phases.has(name) ? phases.get(name) : 'Progressing';
      return p === 'Progressing' ? undefined : p === undefined ? 'the Canary is gone' : `phase ${p}`;
    },
    onEvent: (e) => events.push(e),
    createSender: (spec) => ({ send: () => (sent.push(spec.url), Promise.resolve({ outcome: '2xx' } as SendResult)), close: () => undefined }),
  });
  return { clock, events, sent, phases, m };
}

describe('LoadManager', () => {
  it('starts once, keeps a running command going for another -z at each arm, and stops when the rollout ends', async () => {
    const { clock, events, sent, phases, m } = setup();
    const r = m.arm(canary(), hook('hey -z 10s -q 1 -c 2 http://app-canary.shop/'));
    expect(r).toMatchObject({ ok: true, detail: expect.stringContaining('load started: 2 rps over 2 workers, GET http://app-canary.shop/') });
    await clock.advance(8_000);
    expect(m.arm(canary(), hook('hey -z 10s -q 1 -c 2 http://app-canary.shop/')).detail).toMatch(/^load running/);
    await clock.advance(8_000); // past the first -z: still running, re-armed at 8s for 10s
    expect(m.active).toHaveLength(1);
    // 2 rps from 0 to 16s, with the request due at 16s itself sent or not yet.
    expect(sent.length).toBeGreaterThanOrEqual(32);
    expect(sent.length).toBeLessThanOrEqual(33);
    phases.set('app', 'Succeeded');
    await clock.advance(1_000);
    await flushMicrotasks();
    expect(m.active).toHaveLength(0);
    const after = sent.length;
    await clock.advance(10_000);
    expect(sent.length).toBe(after);
    expect(events.map((e) => e.kind)).toEqual(['started', 'stopped']);
    expect(events[1]?.message).toMatch(/load-test: load stopped after \d+ requests: phase Succeeded/);
  });

  it('stops by itself when -z passes without a tick, and when the Canary is gone', async () => {
    const { clock, events, phases, m } = setup();
    m.arm(canary('a'), hook('hey -z 5s -q 1 -c 1 http://a/'));
    m.arm(canary('b'), hook('hey -z 1m -q 1 -c 1 http://b/'));
    await clock.advance(6_000);
    expect(m.active.map((a) => a.name)).toEqual(['b']);
    phases.set('b', undefined);
    await clock.advance(1_000);
    await flushMicrotasks();
    expect(m.active).toEqual([]);
    expect(events.filter((e) => e.kind === 'stopped').map((e) => e.message)).toEqual([
      expect.stringMatching(/-z 5s passed without an analysis tick/),
      expect.stringMatching(/the Canary is gone/),
    ]);
  });

  it('does not start for a rollout that no longer analyses, and restarts an edited command', async () => {
    const { clock, events, phases, m } = setup();
    phases.set('app', 'Promoting');
    expect(m.arm(canary(), hook('hey -z 1m -q 1 -c 1 http://app/'))).toEqual({ ok: true, detail: 'load not started: phase Promoting' });
    phases.delete('app');
    m.arm(canary(), hook('hey -z 1m -q 1 -c 1 http://app/'));
    m.arm(canary(), hook('hey -z 1m -q 2 -c 1 http://app/'));
    await flushMicrotasks();
    expect(m.active.map((a) => a.rps)).toEqual([2]);
    // The old run reports its end once its last request has ended, after the new one started.
    expect(events.map((e) => `${e.kind}`)).toEqual(['started', 'started', 'stopped']);
    expect(events[2]?.message).toMatch(/its command was edited/);
    await m.stopAll();
    await clock.advance(2_000);
    expect(m.active).toEqual([]);
  });

  it('caps the rate per canary and in all, and says so', async () => {
    const { m } = setup({ perCanary: 5, total: 8 });
    expect(m.arm(canary('a'), hook('hey -z 1m -q 10 -c 2 http://a/')).detail).toMatch(/5 rps over 2 workers.*\(asked for 20 rps; capped by load\.maxRpsPerCanary \(5\)\)/);
    expect(m.arm(canary('b'), hook('hey -z 1m -c 2 http://b/')).detail).toMatch(/3 rps .*\(asked for no limit; capped by load\.maxRps \(8\)\)/);
    expect(m.arm(canary('c'), hook('hey -z 1m -q 1 http://c/'))).toEqual({ ok: true, detail: expect.stringMatching(/^load not started: no rate left/) });
    await m.stopAll();
  });

  it('fails the check for a bad command, and for a target the outbound policy refuses', async () => {
    const clock = new FakeClock(0);
    const m = new LoadManager({ clock, policy: createOutboundPolicy(), stopReason: () => undefined });
    expect(m.arm(canary(), hook('hey -z 1m -k http://app/'))).toEqual({ ok: false, detail: 'unknown hey flag -k' });
    const refused = m.arm(canary(), hook('hey -z 1m -q 1 -c 1 http://127.0.0.1:9/'));
    expect(refused.ok).toBe(false);
    expect(refused.detail).toMatch(/refused by the outbound policy: 127\.0\.0\.1 is a loopback address/);
    expect(m.active).toEqual([]);
  });
});
