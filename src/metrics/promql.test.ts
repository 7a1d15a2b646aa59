import { describe, expect, it } from '@jest/globals';
import { validatePromQL, validateTemplateQuery } from './promql.js';

describe('validatePromQL', () => {
  it.each([
    'sum(rate(istio_requests_total{reporter="destination"}[1m]))',
    'histogram_quantile(0.99, sum by (le) (rate(x_bucket[5m])))',
    '100 * (sum(rate(a[1m])) or vector(0)) / sum(rate(b[1m]))',
    'sum(increase(x{le=~"250(\\\\.0)?"}[1m]))',
    'max_over_time(x[5m:30s])',
    'rate(x[1m] offset 5m)',
    'rate((x[1m]))',
    'quantile_over_time(0.9, x[1m] @ 100)',
    '0/0',
  ])('accepts %s', (q) => {
    expect(validatePromQL(q)).toEqual({ ok: true });
  });

  it('reports an unclosed call at the end of the query', () => {
    expect(validatePromQL('sum(rate(x[5m])')).toEqual({
      ok: false,
      message: 'PromQL syntax error: unexpected end of query',
      position: { line: 1, column: 16, offset: 15 },
    });
  });

  it('reports line and column on a multi-line query', () => {
    const r = validatePromQL('sum(rate(a[1m]))\n  / sum(rate(b[1m] ))) + 1');
    expect(r).toMatchObject({ ok: false, position: { line: 2, column: 22 } });
  });

  it('names an unknown function', () => {
    expect(validatePromQL('sum(ratez(x[1m]))')).toMatchObject({ ok: false, message: 'PromQL syntax error: unknown function "ratez"' });
  });

  it('catches a range function without a range', () => {
    expect(validatePromQL('sum(rate(x))')).toMatchObject({ ok: false, message: expect.stringContaining('rate() needs a range vector'), position: { column: 5 } });
  });

  it('catches a bare range vector', () => {
    expect(validatePromQL('x[5m]')).toMatchObject({ ok: false, message: expect.stringContaining('range vector') });
    expect(validatePromQL('(x[5m:1m])')).toMatchObject({ ok: false, message: expect.stringContaining('range vector') });
  });

  it('rejects an empty query', () => {
    expect(validatePromQL('  ')).toMatchObject({ ok: false, message: 'empty query' });
  });
});

describe('validateTemplateQuery', () => {
  it('stands in strings, durations and numbers where placeholders sit', () => {
    const r = validateTemplateQuery('histogram_quantile({{ q }}, sum by (le) (rate(x{a="{{ a }}"}[{{ w }}] offset {{ o }})))', { allowUnknown: true });
    expect(r).toEqual({ ok: true, rendered: 'histogram_quantile(1, sum by (le) (rate(x{a="x"}[1m] offset 1m)))' });
  });

  it('maps an error position back to the template', () => {
    // Error is after a placeholder whose stand-in is shorter than the placeholder.
    const r = validateTemplateQuery('sum(x{a="{{ namespace }}"}) +', {});
    expect(r).toMatchObject({ ok: false, code: 'InvalidPromQL', position: { line: 1, column: 30, offset: 29 } });
  });

  it('reports an unknown variable with its position unless unknowns are allowed', () => {
    expect(validateTemplateQuery('sum(x{a="{{ colour }}"})')).toMatchObject({
      ok: false,
      code: 'UnknownTemplateVariable',
      variable: 'colour',
      position: { column: 10 },
    });
    expect(validateTemplateQuery('sum(x{a="{{ colour }}"})', { allowUnknown: true }).ok).toBe(true);
  });

  it('uses given values for known variables', () => {
    expect(validateTemplateQuery('x{n="{{ namespace }}"}', { vars: { namespace: 'shop' } })).toEqual({ ok: true, rendered: 'x{n="shop"}' });
  });
});

describe('validatePromQL remembers answers by query text', () => {
  it('answers the same text with the same frozen result, good or bad', () => {
    const good = 'sum(rate(istio_requests_total{destination_service_name="cache-test"}[1m]))';
    const first = validatePromQL(good);
    expect(validatePromQL(good)).toBe(first);
    expect(Object.isFrozen(first)).toBe(true);
    const bad = 'sum(rate(istio_requests_total{destination_service_name="cache-test"}[1m])';
    const a = validatePromQL(bad);
    expect(a.ok).toBe(false);
    expect(validatePromQL(bad)).toBe(a);
    // A different text is judged on its own.
    expect(validatePromQL(bad + ')')).toEqual({ ok: true });
  });
});
