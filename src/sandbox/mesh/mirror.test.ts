import { MirrorTracker, shadowHost } from './mirror.js';

describe('mirror helpers', () => {
  it('appends -shadow to the host name, before any port', () => {
    expect(shadowHost('backend.istio-test.svc.cluster.local')).toBe('backend.istio-test.svc.cluster.local-shadow');
    expect(shadowHost('backend.istio-test:80')).toBe('backend.istio-test-shadow:80');
    expect(shadowHost(undefined)).toBeUndefined();
  });

  it('is idle only when every copy has ended', async () => {
    const t = new MirrorTracker();
    await t.idle();
    t.begin();
    t.begin();
    let idle = false;
    const waiting = t.idle().then(() => (idle = true));
    t.end();
    await Promise.resolve();
    expect(idle).toBe(false);
    t.end();
    await waiting;
    expect(idle).toBe(true);
  });
});
