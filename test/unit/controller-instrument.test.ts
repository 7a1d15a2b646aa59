import { KubeApiError } from '../../src/kube/errors.js';
import { ControllerMetrics } from '../../src/controller/metrics.js';
import { timed } from '../../src/controller/instrument.js';

describe('timed API calls', () => {
  it('counts calls by verb, resource and outcome class', async () => {
    const m = new ControllerMetrics(false);
    const ok = timed(m, 'get', 'canaries', async (x: number) => x * 2);
    const conflict = timed(m, 'update', 'canaries/status', async () => {
      throw new KubeApiError(409, 'conflict');
    });
    expect(await ok(2)).toBe(4);
    await expect(conflict()).rejects.toThrow('conflict');
    await expect(conflict()).rejects.toThrow('conflict');
    const text = await m.registry.metrics();
    expect(text).toContain('routeshift_kube_request_duration_seconds_count{verb="get",resource="canaries",outcome="ok"} 1');
    expect(text).toContain('routeshift_kube_request_duration_seconds_count{verb="update",resource="canaries/status",outcome="409"} 2');
  });
});
