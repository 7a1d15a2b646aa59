import type { Canary, WebhookSpec } from '../api/canary.js';
import { FakeClock } from '../core/clock.js';
import { createOutboundPolicy } from '../hooks/outbound.js';
import type { HookRunner } from '../hooks/types.js';
import type { SendResult } from '../load/generator.js';
import { LoadManager } from '../load/manager.js';
import { buildGates } from './gates.js';

const canary = (webhooks: WebhookSpec[]): Canary =>
  ({
    apiVersion: 'routeshift.io/v1alpha1',
    kind: 'Canary',
    metadata: { name: 'app', namespace: 'shop' },
    spec: { routeRef: { name: 'r' }, stable: { name: 's', port: 80 }, canary: { name: 'k', port: 80 }, analysis: { interval: '1m', threshold: 5, webhooks } },
    status: { phase: 'Progressing' },
  }) as Canary;

describe('buildGates with the load source', () => {
  it('arms native load hooks and still posts rollout hooks that have a url (a deployed flagger-loadtester)', async () => {
    const posted: string[] = [];
    const runner: HookRunner = { run: async (h) => (posted.push(h.name), { name: h.name, type: h.type, passed: true, message: 'HTTP 200' }) };
    const sent: string[] = [];
    const load = new LoadManager({
      clock: new FakeClock(0),
      policy: createOutboundPolicy(),
      stopReason: () => undefined,
      createSender: (spec) => ({ send: () => (sent.push(spec.url), Promise.resolve({ outcome: '2xx' } as SendResult)), close: () => undefined }),
    });
    const cmd = 'hey -z 1m -q 10 -c 2 http://podinfo-canary.test:9898/';
    const c = canary([
      { name: 'native', type: 'rollout', metadata: { cmd } },
      { name: 'loadtester', type: 'rollout', url: 'http://flagger-loadtester.test/', metadata: { cmd } },
    ]);
    const results = await buildGates(runner, load)(c, 'rollout', 10, false, new AbortController().signal);
    expect(posted).toEqual(['loadtester']);
    expect(results.map((r) => [r.name, r.passed])).toEqual([
      ['native', true],
      ['loadtester', true],
    ]);
    expect(results[0]?.message).toMatch(/^rollout check 'native' passed: load started: 20 rps over 2 workers/);
    expect(load.active.map((a) => a.hook)).toEqual(['native']);
    await load.stopAll();
  });

  it('without a load source, a hook without a url goes to the runner as before', async () => {
    const posted: string[] = [];
    const runner: HookRunner = { run: async (h) => (posted.push(h.name), { name: h.name, type: h.type, passed: false, message: 'no url' }) };
    await buildGates(runner)(canary([{ name: 'native', type: 'rollout', metadata: { cmd: 'hey http://x/' } }]), 'rollout', 10, false, new AbortController().signal);
    expect(posted).toEqual(['native']);
  });
});
