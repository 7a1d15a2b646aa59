import { serviceRequests } from './traefik.js';
import { onlyLoopback } from './netns.js';

describe('serviceRequests', () => {
  it("sums Traefik's request counter per service label over code, method and protocol", () => {
    const text = [
      '# HELP traefik_service_requests_total How many HTTP requests processed on a service, partitioned by status code, protocol, and method.',
      '# TYPE traefik_service_requests_total counter',
      'traefik_service_requests_total{code="200",method="GET",protocol="http",service="edge-backend-v1-http-80@kubernetesgateway"} 40',
      'traefik_service_requests_total{code="503",method="GET",protocol="http",service="edge-backend-v1-http-80@kubernetesgateway"} 2',
      'traefik_service_requests_total{code="200",method="GET",protocol="http",service="edge-backend-v2-http-80@kubernetesgateway"} 7',
      'traefik_service_requests_bytes_total{code="200",method="GET",protocol="http",service="edge-backend-v2-http-80@kubernetesgateway"} 999',
    ].join('\n');
    expect(Object.fromEntries(serviceRequests(text))).toEqual({
      'edge-backend-v1-http-80@kubernetesgateway': 42,
      'edge-backend-v2-http-80@kubernetesgateway': 7,
    });
  });
});

describe('onlyLoopback', () => {
  it('accepts the namespace `unshare -n` makes and refuses one with any other interface', () => {
    const lo = '1: lo: <LOOPBACK> mtu 65536 qdisc noop state DOWN mode DEFAULT group default qlen 1000\\    link/loopback 00:00:00:00:00:00 brd 00:00:00:00:00:00\n';
    expect(onlyLoopback(lo)).toBe(true);
    expect(onlyLoopback(lo + '2: eth0@if7: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc noqueue state UP mode DEFAULT\n')).toBe(false);
    expect(onlyLoopback('')).toBe(false);
  });
});
