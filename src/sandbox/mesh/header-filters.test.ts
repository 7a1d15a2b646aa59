import { applyHeaderFilters, forwardableHeaders } from './header-filters.js';

describe('header filters', () => {
  it('drops hop-by-hop headers and those named by Connection', () => {
    const out = forwardableHeaders({ host: 'a', connection: 'keep-alive, x-secret', 'keep-alive': 'timeout=5', 'x-secret': 's', 'transfer-encoding': 'chunked', 'x-ok': '1' });
    expect(out).toEqual({ host: 'a', 'x-ok': '1' });
  });

  it('applies set, add (comma-appended) and remove case-insensitively', () => {
    const out = applyHeaderFilters({ 'my-header': 'foo', 'x-drop': 'd', 'x-keep': 'k' }, [
      { set: [{ name: 'X-Set', value: 'S' }], add: [{ name: 'My-Header', value: 'bar' }, { name: 'x-new', value: 'n' }], remove: ['X-Drop'] },
    ]);
    expect(out).toEqual({ 'my-header': 'foo,bar', 'x-set': 'S', 'x-new': 'n', 'x-keep': 'k' });
  });

  it('adds Set-Cookie as a line of its own, keeping the upstream cookies, and ignores repeated names in one list', () => {
    const out = applyHeaderFilters({ 'set-cookie': ['session=1'] }, [{ add: [{ name: 'Set-Cookie', value: 'canary=always; Path=/' }] }]);
    expect(out['set-cookie']).toEqual(['session=1', 'canary=always; Path=/']);
    expect(applyHeaderFilters({}, [{ add: [{ name: 'Set-Cookie', value: 'a=1' }] }])['set-cookie']).toEqual(['a=1']);
    expect(applyHeaderFilters({}, [{ set: [{ name: 'x', value: 'first' }, { name: 'X', value: 'second' }] }])).toEqual({ x: 'first' });
  });
});
