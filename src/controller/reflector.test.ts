import { trimForCache } from './reflector.js';

describe('trimForCache', () => {
  it('drops managedFields and the last-applied copy, and keeps every other annotation and field', () => {
    const obj = {
      metadata: {
        name: 'a',
        namespace: 'n',
        resourceVersion: '7',
        managedFields: [{ manager: 'kubectl', fieldsV1: { 'f:spec': {} } }],
        annotations: { 'kubectl.kubernetes.io/last-applied-configuration': '{"spec":{}}', 'routeshift.io/retry': '1' },
      },
      spec: { x: 1 },
    };
    expect(trimForCache(obj)).toEqual({ metadata: { name: 'a', namespace: 'n', resourceVersion: '7', annotations: { 'routeshift.io/retry': '1' } }, spec: { x: 1 } });
    expect(obj.metadata.managedFields).toHaveLength(1);
  });

  it('returns an object with nothing to drop as it is', () => {
    const obj = { metadata: { name: 'a', annotations: { k: 'v' } }, spec: {} };
    expect(trimForCache(obj)).toBe(obj);
  });
});
