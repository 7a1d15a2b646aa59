import { MeshMetrics } from './metrics.js';

const wl = { name: 'backend-v2', namespace: 'istio-test', app: 'backend', version: 'v2' };

function sampleLine(text: string, metric: string, labels: Record<string, string>): string | undefined {
  return text.split('\n').find((l) => l.startsWith(`${metric}{`) && Object.entries(labels).every(([k, v]) => l.includes(`${k}="${v}"`)));
}

describe('MeshMetrics', () => {
  it('records a source and a destination sample for an answer from a workload, with Istio labels', async () => {
    const m = new MeshMetrics();
    m.record({ source: { workload: 'sandbox-load', namespace: 'sandbox' }, destination: { name: 'backend-v2', namespace: 'istio-test' }, workload: wl, responseCode: 503, flag: '-', durationMs: 3 });
    const text = await m.text();
    const labels = {
      destination_service: 'backend-v2.istio-test.svc.cluster.local',
      destination_service_name: 'backend-v2',
      destination_service_namespace: 'istio-test',
      destination_workload: 'backend-v2',
      destination_workload_namespace: 'istio-test',
      destination_app: 'backend',
      destination_version: 'v2',
      source_workload: 'sandbox-load',
      request_protocol: 'http',
      response_code: '503',
      response_flags: '-',
    };
    expect(sampleLine(text, 'istio_requests_total', { ...labels, reporter: 'destination' })).toMatch(/ 1$/);
    expect(sampleLine(text, 'istio_requests_total', { ...labels, reporter: 'source' })).toMatch(/ 1$/);
    expect(sampleLine(text, 'istio_request_duration_milliseconds_bucket', { ...labels, reporter: 'destination', le: '5' })).toMatch(/ 1$/);
    expect(sampleLine(text, 'istio_request_duration_milliseconds_bucket', { ...labels, reporter: 'destination', le: '2' })).toMatch(/ 0$/);
    expect(text).toContain('le="10000"');
  });

  it('records proxy-made answers (UH) only as reporter="source", with workload unknown', async () => {
    const m = new MeshMetrics();
    m.record({ source: { workload: 'unknown', namespace: 'unknown' }, destination: { name: 'backend-v2', namespace: 'istio-test' }, workload: undefined, responseCode: 503, flag: 'UH', durationMs: 0.2 });
    const text = await m.text();
    expect(sampleLine(text, 'istio_requests_total', { reporter: 'source', response_flags: 'UH', destination_service_name: 'backend-v2', destination_workload: 'unknown' })).toMatch(/ 1$/);
    expect(sampleLine(text, 'istio_requests_total', { reporter: 'destination' })).toBeUndefined();
  });

  it('records a mirrored copy only as reporter="destination", labelled with the mirror Service and workload', async () => {
    const m = new MeshMetrics();
    m.record({ source: { workload: 'e2e', namespace: 'x' }, destination: { name: 'backend-v2', namespace: 'istio-test' }, workload: wl, responseCode: 500, flag: '-', durationMs: 4, mirrored: true });
    const text = await m.text();
    expect(sampleLine(text, 'istio_requests_total', { reporter: 'destination', destination_service_name: 'backend-v2', destination_workload: 'backend-v2', response_code: '500' })).toMatch(/ 1$/);
    expect(sampleLine(text, 'istio_request_duration_milliseconds_count', { reporter: 'destination', destination_workload: 'backend-v2' })).toMatch(/ 1$/);
    expect(sampleLine(text, 'istio_requests_total', { reporter: 'source' })).toBeUndefined();
  });

  it('uses its own registry, so two meshes do not share counters', async () => {
    const a = new MeshMetrics();
    const b = new MeshMetrics();
    a.record({ source: { workload: 'x', namespace: 'y' }, destination: undefined, workload: undefined, responseCode: 404, flag: 'NR', durationMs: 1 });
    expect(await b.text()).not.toContain('response_code="404"');
    expect(await a.text()).toContain('response_code="404"');
  });
});
