/** The CLI on a Canary with spec.workloads: the slots as they are now, and what counts as a pending release. */
import type { Canary, CanaryStatus } from '../api/canary.js';
import { rolloutPending } from './commands/requests.js';
import { renderStatus, statusView } from './render.js';

function canary(status?: CanaryStatus): Canary {
  return {
    apiVersion: 'routeshift.io/v1alpha1',
    kind: 'Canary',
    metadata: { name: 'app', namespace: 'shop' },
    spec: {
      routeRef: { name: 'split' },
      stable: { name: 'app-blue', port: 80 },
      canary: { name: 'app-green', port: 80 },
      analysis: { interval: '1m', threshold: 2, stepWeights: [50] },
      workloads: { stable: { name: 'blue' }, canary: { name: 'green' } },
    },
    ...(status ? { status } : {}),
  };
}

describe('routeshift status with spec.workloads', () => {
  it('after a swap shows the live slot as stable and names the Deployment of the next release', () => {
    const v = statusView(canary({ phase: 'Succeeded', revision: 'r2', lastCompletedRevision: 'r2', canaryWeight: 0, workloads: { live: 'app-green' } }));
    expect(v.services).toEqual({ stable: 'app-green:80', canary: 'app-blue:80' });
    expect(v.pendingRevision).toBeUndefined();
    const page = renderStatus(v, Date.now());
    expect(page).toContain('Slots:');
    expect(page).toContain('live app-green (Deployment green), idle app-blue (Deployment blue)');
  });

  it('an explicit-pair Canary shows no Slots line', () => {
    const c = canary({ phase: 'Succeeded', revision: 'x' });
    delete c.spec.workloads;
    expect(renderStatus(statusView(c), Date.now())).not.toContain('Slots:');
  });
});

describe('rolloutPending with spec.workloads', () => {
  it('is pending before adoption and while the idle Deployment rolls out, not at rest', () => {
    expect(rolloutPending(canary())).toBe(true);
    expect(rolloutPending(canary({ phase: 'Succeeded', revision: 'r', workloads: { live: 'app-blue' } }))).toBe(false);
    expect(rolloutPending(canary({ phase: 'Succeeded', revision: 'r', workloads: { live: 'app-blue', waiting: { revision: 'r2', since: '2026-12-07T00:00:00Z' } } }))).toBe(true);
  });
});
