import { describe, expect, it } from '@jest/globals';
import type { JsonObject } from './json.js';
import { jsonPatch, mergePatch, strategicMergePatch, type PatchApplyError } from './patch.js';
import { ApiStatusError } from './status.js';

const doc = (): JsonObject => ({
  metadata: { name: 'r', annotations: { 'a/b': '1', 'x~y': '2' } },
  spec: { rules: [{ backendRefs: [{ name: 'v1', weight: 90 }, { name: 'v2', weight: 10 }] }], hosts: ['a'] },
});

function failure(fn: () => unknown): ApiStatusError {
  try {
    fn();
  } catch (err) {
    if (err instanceof ApiStatusError) return err;
    throw err;
  }
  throw new Error('expected an ApiStatusError');
}

describe('JSON Patch (RFC 6902)', () => {
  it('applies add/remove/replace/move/copy/test with ~0 ~1 escapes and - append', () => {
    const out = jsonPatch(doc(), [
      { op: 'test', path: '/spec/rules/0/backendRefs/0/weight', value: 90 },
      { op: 'replace', path: '/spec/rules/0/backendRefs/0/weight', value: 80 },
      { op: 'replace', path: '/spec/rules/0/backendRefs/1/weight', value: 20 },
      { op: 'add', path: '/spec/hosts/-', value: 'b' },
      { op: 'add', path: '/spec/hosts/0', value: 'first' },
      { op: 'remove', path: '/metadata/annotations/a~1b' },
      { op: 'copy', from: '/metadata/annotations/x~0y', path: '/metadata/annotations/copied' },
      { op: 'move', from: '/spec/hosts', path: '/spec/hostnames' },
      { op: 'test', path: '/metadata/annotations/x~0y', value: '2' },
    ]) as JsonObject;
    expect(out).toEqual({
      metadata: { name: 'r', annotations: { 'x~y': '2', copied: '2' } },
      spec: { rules: [{ backendRefs: [{ name: 'v1', weight: 80 }, { name: 'v2', weight: 20 }] }], hostnames: ['first', 'a', 'b'] },
    });
  });

  it('does not modify its input', () => {
    const input = doc();
    jsonPatch(input, [{ op: 'remove', path: '/spec' }]);
    expect(input).toEqual(doc());
  });

  it('answers a failed test op with 422 like the real server', () => {
    const err = failure(() => jsonPatch(doc(), [{ op: 'test', path: '/spec/rules/0/backendRefs/0/weight', value: 50 }, { op: 'remove', path: '/spec' }]));
    expect(err.status).toBe(422);
    expect(err.reason).toBe('Invalid');
    expect(err.message).toBe('the server rejected our request due to an error in our request');
    expect(err.details).toEqual({});
    expect((err as PatchApplyError).detail).toBe('testing value /spec/rules/0/backendRefs/0/weight failed: test failed');
  });

  it('rejects remove of missing paths and unknown ops (422) and malformed patches (400); replace adds a missing member, as 1.36 does', () => {
    expect(jsonPatch(doc(), [{ op: 'replace', path: '/spec/nope', value: 1 }])).toMatchObject({ spec: { nope: 1 } });
    expect(failure(() => jsonPatch(doc(), [{ op: 'replace', path: '/spec/hosts/5', value: 1 }])).status).toBe(422);
    expect(failure(() => jsonPatch(doc(), [{ op: 'remove', path: '/spec/hosts/5' }])).status).toBe(422);
    expect(failure(() => jsonPatch(doc(), [{ op: 'add', path: '/missing/parent/x', value: 1 }])).status).toBe(422);
    expect(failure(() => jsonPatch(doc(), { op: 'add' })).status).toBe(400);
    expect(failure(() => jsonPatch(doc(), [{ op: 'frobnicate', path: '/spec' }])).status).toBe(422);
  });
});

describe('JSON merge patch (RFC 7386)', () => {
  it('merges objects, replaces lists and deletes on null', () => {
    const out = mergePatch(doc(), {
      metadata: { annotations: { 'a/b': null, new: 'v' } },
      spec: { rules: [{ backendRefs: [{ name: 'v1' }] }], hosts: null },
    });
    expect(out).toEqual({
      metadata: { name: 'r', annotations: { 'x~y': '2', new: 'v' } },
      spec: { rules: [{ backendRefs: [{ name: 'v1' }] }] },
    });
  });

  it('replaces the target when the patch is not an object', () => {
    expect(mergePatch({ a: 1 }, ['x'])).toEqual(['x']);
  });
});

describe('strategic merge patch (approximate)', () => {
  const deployment = (): JsonObject => ({
    metadata: { name: 'd', finalizers: ['a'] },
    spec: {
      replicas: 1,
      template: {
        spec: {
          containers: [
            { name: 'app', image: 'app:1', env: [{ name: 'A', value: '1' }], ports: [{ containerPort: 80 }], args: ['x'] },
            { name: 'sidecar', image: 'proxy:1' },
          ],
          volumes: [{ name: 'data', emptyDir: {} }],
        },
      },
    },
  });

  it('merges containers and env by name, ports by containerPort, replaces primitive lists', () => {
    const out = strategicMergePatch(deployment(), {
      spec: {
        replicas: 3,
        template: {
          spec: {
            '$setElementOrder/containers': [{ name: 'app' }, { name: 'sidecar' }],
            containers: [{ name: 'app', image: 'app:2', env: [{ name: 'B', value: '2' }], ports: [{ containerPort: 80, name: 'http' }], args: ['y'] }],
          },
        },
      },
      metadata: { finalizers: ['b'] },
    }) as JsonObject;
    const spec = (out['spec'] as JsonObject)['template'] as { spec: { containers: JsonObject[] } };
    expect((out['spec'] as JsonObject)['replicas']).toBe(3);
    expect(spec.spec.containers).toEqual([
      { name: 'app', image: 'app:2', env: [{ name: 'A', value: '1' }, { name: 'B', value: '2' }], ports: [{ containerPort: 80, name: 'http' }], args: ['y'] },
      { name: 'sidecar', image: 'proxy:1' },
    ]);
    expect((out['metadata'] as JsonObject)['finalizers']).toEqual(['a', 'b']);
  });

  it('honours $patch: delete / replace, $retainKeys and $deleteFromPrimitiveList', () => {
    const out = strategicMergePatch(deployment(), {
      metadata: { '$deleteFromPrimitiveList/finalizers': ['a'] },
      spec: {
        strategy: { $retainKeys: ['type'], type: 'Recreate' },
        template: {
          spec: {
            containers: [{ name: 'sidecar', $patch: 'delete' }],
            volumes: [{ $patch: 'replace' }, { name: 'cache', emptyDir: {} }],
          },
        },
      },
    }) as JsonObject;
    const tpl = ((out['spec'] as JsonObject)['template'] as JsonObject)['spec'] as JsonObject;
    expect((tpl['containers'] as JsonObject[]).map((c) => c['name'])).toEqual(['app']);
    expect(tpl['volumes']).toEqual([{ name: 'cache', emptyDir: {} }]);
    expect((out['metadata'] as JsonObject)['finalizers']).toEqual([]);
    expect((out['spec'] as JsonObject)['strategy']).toEqual({ type: 'Recreate' });

    const replaced = strategicMergePatch(deployment(), { spec: { template: { $patch: 'replace', metadata: { labels: { a: 'b' } } } } }) as JsonObject;
    expect((replaced['spec'] as JsonObject)['template']).toEqual({ metadata: { labels: { a: 'b' } } });
  });
});
