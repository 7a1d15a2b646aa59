import { configRefsOf, dataDigest, podTemplateRevision, type PodTemplate } from './pod-template-revision.js';

function template(image = 'app:1'): PodTemplate {
  return {
    metadata: { labels: { app: 'a' } },
    spec: {
      containers: [
        {
          name: 'app',
          image,
          env: [
            { name: 'A', valueFrom: { configMapKeyRef: { name: 'env-cm' } } },
            { name: 'B', valueFrom: { secretKeyRef: { name: 'env-secret' } } },
          ],
          envFrom: [{ configMapRef: { name: 'from-cm' } }, { secretRef: { name: 'from-secret' } }],
        },
      ],
      initContainers: [{ name: 'init', image: 'init:1', envFrom: [{ configMapRef: { name: 'init-cm' } }] }],
      volumes: [
        { name: 'v1', configMap: { name: 'vol-cm' } },
        { name: 'v2', secret: { secretName: 'vol-secret' } },
        { name: 'v3', projected: { sources: [{ configMap: { name: 'proj-cm' } }, { secret: { name: 'proj-secret' } }] } },
        { name: 'v4', configMap: { name: 'env-cm' } },
      ],
    },
  };
}

const none = new Map<string, string>();

describe('configRefsOf', () => {
  it('finds ConfigMaps and Secrets in env, envFrom, volumes and projected volumes of every container, once each', () => {
    expect(configRefsOf(template())).toEqual({
      configMaps: ['env-cm', 'from-cm', 'init-cm', 'proj-cm', 'vol-cm'],
      secrets: ['env-secret', 'from-secret', 'proj-secret', 'vol-secret'],
    });
  });

  it('is empty for a template that names none', () => {
    expect(configRefsOf({ spec: { containers: [{ name: 'x', image: 'y' }] } })).toEqual({ configMaps: [], secrets: [] });
  });
});

describe('podTemplateRevision', () => {
  it('is the same for the same template whatever the key order', () => {
    const a = { spec: { containers: [{ name: 'app', image: 'app:1' }] }, metadata: { labels: { x: '1', y: '2' } } };
    const b = { metadata: { labels: { y: '2', x: '1' } }, spec: { containers: [{ image: 'app:1', name: 'app' }] } };
    expect(podTemplateRevision(a, none)).toBe(podTemplateRevision(b, none));
  });

  it('changes with the image, an env value and a pod annotation', () => {
    const base = podTemplateRevision(template('app:1'), none);
    expect(podTemplateRevision(template('app:2'), none)).not.toBe(base);
    const annotated = template('app:1');
    annotated.metadata = { ...annotated.metadata, annotations: { 'sandbox.routeshift.io/error-rate': '1' } };
    expect(podTemplateRevision(annotated, none)).not.toBe(base);
  });

  it('changes when a referenced ConfigMap or Secret changes, not when an unreferenced one does', () => {
    const t = template();
    const digests = new Map([
      ['configmap/env-cm', dataDigest({ data: { a: '1' } })],
      ['secret/vol-secret', dataDigest({ data: { p: 'c2VjcmV0' } })],
    ]);
    const base = podTemplateRevision(t, digests);
    expect(podTemplateRevision(t, new Map([...digests, ['configmap/env-cm', dataDigest({ data: { a: '2' } })]]))).not.toBe(base);
    expect(podTemplateRevision(t, new Map([...digests, ['secret/vol-secret', dataDigest({ data: { p: 'b3RoZXI=' } })]]))).not.toBe(base);
    expect(podTemplateRevision(t, new Map([...digests, ['configmap/unrelated', dataDigest({ data: { z: '9' } })]]))).toBe(base);
  });
});

describe('dataDigest', () => {
  it('tells apart key/value splits, absent objects and empty ones', () => {
    expect(dataDigest({ data: { a: 'bc' } })).not.toBe(dataDigest({ data: { ab: 'c' } }));
    expect(dataDigest(undefined)).not.toBe(dataDigest({ data: {} }));
    expect(dataDigest({ data: { k: 'v' } })).not.toBe(dataDigest({ binaryData: { k: 'v' } }));
  });

  it('ignores key order and never contains the data', () => {
    const secret = 'hunter2-very-secret';
    const d = dataDigest({ data: { b: secret, a: 'x' } });
    expect(d).toBe(dataDigest({ data: { a: 'x', b: secret } }));
    expect(d).toMatch(/^[0-9a-f]{64}$/);
    expect(d).not.toContain(secret);
  });
});
