import { parseServiceHost, serviceHost } from './host.js';

describe('parseServiceHost', () => {
  it.each([
    ['backend.istio-test.svc.cluster.local', { name: 'backend', namespace: 'istio-test', port: undefined }],
    ['backend.istio-test.svc', { name: 'backend', namespace: 'istio-test', port: undefined }],
    ['backend.istio-test', { name: 'backend', namespace: 'istio-test', port: undefined }],
    ['backend.istio-test.svc.cluster.local:8080', { name: 'backend', namespace: 'istio-test', port: 8080 }],
    ['Backend.Istio-Test.SVC:80', { name: 'backend', namespace: 'istio-test', port: 80 }],
    ['backend.istio-test.svc.cluster.local.', { name: 'backend', namespace: 'istio-test', port: undefined }],
  ])('reads %s', (host, expected) => {
    expect(parseServiceHost(host)).toEqual(expected);
  });

  it.each([
    [undefined],
    [''],
    ['backend'],
    ['localhost:8080'],
    ['backend.ns.example.com'],
    ['backend.ns.svc.cluster'],
    ['backend.ns:0'],
    ['backend.ns:70000'],
    ['backend.ns:http'],
    ['-bad.ns'],
    ['127.0.0.1:80'],
  ])('rejects %s', (host) => {
    expect(parseServiceHost(host)).toBeUndefined();
  });

  it('formats the FQDN host, with a port only when it is not 80', () => {
    expect(serviceHost('backend', 'istio-test')).toBe('backend.istio-test.svc.cluster.local');
    expect(serviceHost('backend', 'istio-test', 80)).toBe('backend.istio-test.svc.cluster.local');
    expect(serviceHost('backend', 'istio-test', 9090)).toBe('backend.istio-test.svc.cluster.local:9090');
    expect(parseServiceHost(serviceHost('a', 'b', 9090))).toEqual({ name: 'a', namespace: 'b', port: 9090 });
  });
});
