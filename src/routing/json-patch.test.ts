import { applyJsonPatch, formatPointer, JsonPatchError, jsonEqual, parsePointer, type JsonPatchOp } from './json-patch.js';

describe('applyJsonPatch (RFC 6902)', () => {
  const doc = { a: { b: [1, 2, 3], 'x/y': 'slash', 't~': 'tilde' }, c: 'keep' };

  it('escapes and parses RFC 6901 pointers', () => {
    expect(formatPointer(['a', 'x/y', 't~', 0])).toBe('/a/x~1y/t~0/0');
    expect(parsePointer('/a/x~1y/t~0/0')).toEqual(['a', 'x/y', 't~', '0']);
    expect(parsePointer('')).toEqual([]);
  });

  it('applies add/replace/remove/copy/move without touching the input', () => {
    const before = JSON.stringify(doc);
    const out = applyJsonPatch(doc, [
      { op: 'test', path: '/a/x~1y', value: 'slash' },
      { op: 'replace', path: '/a/b/1', value: 20 },
      { op: 'add', path: '/a/b/-', value: 4 },
      { op: 'add', path: '/a/b/0', value: 0 },
      { op: 'remove', path: '/a/t~0' },
      { op: 'copy', from: '/c', path: '/d' },
      { op: 'move', from: '/d', path: '/e' },
    ]);
    expect(out).toEqual({ a: { b: [0, 1, 20, 3, 4], 'x/y': 'slash' }, c: 'keep', e: 'keep' });
    expect(JSON.stringify(doc)).toBe(before);
  });

  it('keeps key order on replace, so unchanged documents serialize byte-for-byte', () => {
    const out = applyJsonPatch({ x: 1, y: 2, z: 3 }, [{ op: 'replace', path: '/y', value: 5 }]);
    expect(JSON.stringify(out)).toBe('{"x":1,"y":5,"z":3}');
  });

  it('rejects the whole patch when a test op fails, and names the op', () => {
    const ops: JsonPatchOp[] = [
      { op: 'replace', path: '/c', value: 'changed' },
      { op: 'test', path: '/a/b/0', value: 99 },
    ];
    let err: unknown;
    try {
      applyJsonPatch(doc, ops);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(JsonPatchError);
    expect((err as JsonPatchError).code).toBe('PatchTestFailed');
    expect((err as JsonPatchError).opIndex).toBe(1);
    expect(doc.c).toBe('keep');
  });

  it('rejects missing paths and out-of-range indices', () => {
    expect(() => applyJsonPatch(doc, [{ op: 'replace', path: '/nope', value: 1 }])).toThrow(
      expect.objectContaining({ code: 'PatchPathMissing' }),
    );
    expect(() => applyJsonPatch(doc, [{ op: 'test', path: '/a/b/3', value: 1 }])).toThrow(
      expect.objectContaining({ code: 'PatchPathMissing' }),
    );
    expect(() => applyJsonPatch(doc, [{ op: 'remove', path: '/a/b/01' }])).toThrow(expect.objectContaining({ code: 'PatchPathMissing' }));
  });

  it('compares JSON values structurally (key order free, array order not)', () => {
    expect(jsonEqual({ a: 1, b: [1, { c: 2 }] }, { b: [1, { c: 2 }], a: 1 })).toBe(true);
    expect(jsonEqual([1, 2], [2, 1])).toBe(false);
    expect(jsonEqual({ a: 1 }, { a: 1, b: undefined })).toBe(false);
    expect(jsonEqual(null, {})).toBe(false);
  });
});
