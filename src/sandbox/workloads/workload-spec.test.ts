import { deployment } from '../mesh/test-fixtures.js';
import { echoWorkload, isEchoImage } from './workload-spec.js';

describe('echo workloads', () => {
  it('recognises hashicorp/http-echo with any tag, digest or registry', () => {
    for (const image of ['hashicorp/http-echo', 'hashicorp/http-echo:1.0', 'docker.io/hashicorp/http-echo:0.2.3', 'hashicorp/http-echo@sha256:abc', 'reg:5000/mirror/hashicorp/http-echo:latest']) {
      expect(isEchoImage(image)).toBe(true);
    }
    for (const image of ['nginx', 'hashicorp/http-echo-fork', 'myhashicorp/http-echo', undefined]) expect(isEchoImage(image)).toBe(false);
  });

  it('builds the echo config from args, annotations and replicas', () => {
    const d = deployment('backend-v2', { app: 'backend', version: 'v2' }, {
      replicas: 2,
      args: ['-text=hello from backend v2', '-status-code=503'],
      annotations: { 'sandbox.routeshift.io/error-rate': '0.1', 'sandbox.routeshift.io/latency-ms': '5-10' },
    });
    expect(echoWorkload(d)).toEqual({
      name: 'backend-v2',
      namespace: 'istio-test',
      replicas: 2,
      labels: { app: 'backend', version: 'v2' },
      config: { text: 'hello from backend v2', statusCode: 503, faults: { errorRate: 0.1, latency: { min: 5, max: 10 } } },
      problems: [],
    });
  });

  it('skips other images and defaults replicas to 1 (0 stays 0)', () => {
    expect(echoWorkload(deployment('web', { app: 'web' }, { image: 'nginx:1.27' }))).toBeUndefined();
    const d = deployment('x', { app: 'x' });
    delete d.spec!.replicas;
    expect(echoWorkload(d)?.replicas).toBe(1);
    expect(echoWorkload(deployment('x', { app: 'x' }, { replicas: 0 }))?.replicas).toBe(0);
  });
});
