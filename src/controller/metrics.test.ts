import { ControllerMetrics } from './metrics.js';

async function phaseSeries(m: ControllerMetrics): Promise<Array<{ name: string; phase: string; value: number }>> {
  const metric = (await m.registry.getMetricsAsJSON()).find((x) => x.name === 'routeshift_canary_phase');
  return (metric?.values ?? []).map((v) => ({ name: String(v.labels['name']), phase: String(v.labels['phase']), value: v.value }));
}

describe('ControllerMetrics canary phase', () => {
  it('keeps one series per canary, for the phase it is in, and moves it when the phase changes', async () => {
    const m = new ControllerMetrics(false);
    m.setCanary('ns', 'a', 'Progressing', 10, 0);
    m.setCanary('ns', 'b', 'Waiting', 0, 0);
    m.setCanary('ns', 'a', 'Succeeded', 0, 0);
    expect(await phaseSeries(m)).toEqual([
      { name: 'b', phase: 'Waiting', value: 1 },
      { name: 'a', phase: 'Succeeded', value: 1 },
    ]);
  });

  it('forgets every series of a deleted canary', async () => {
    const m = new ControllerMetrics(false);
    m.setCanary('ns', 'a', 'Failed', 0, 2);
    m.forgetCanary('ns', 'a', []);
    expect(await phaseSeries(m)).toEqual([]);
    m.setCanary('ns', 'a', 'Failed', 0, 2);
    expect(await phaseSeries(m)).toEqual([{ name: 'a', phase: 'Failed', value: 1 }]);
  });
});
