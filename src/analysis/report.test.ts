import { formatNumber, formatPoints, formatShare, formatValue, thresholdText, valueKind } from './report.js';

describe('report formatting', () => {
  it.each([
    ['request-success-rate', undefined, 'percent'],
    ['error-rate', undefined, 'percent'],
    ['request-duration', undefined, 'duration-ms'],
    ['latency-p99', undefined, 'duration-ms'],
    ['p95', undefined, 'duration-ms'],
    ['queue-depth', undefined, 'plain'],
    ['anything', '%', 'percent'],
    ['anything', 'ms', 'duration-ms'],
    ['request-duration', 's', 'duration-s'],
    ['request-success-rate', 'req/s', 'plain'],
  ])('valueKind(%p, %p) = %p', (name, unit, kind) => {
    expect(valueKind(name, unit)).toBe(kind);
  });

  it.each([
    [99.8, 'percent', '99.8%'],
    [99.85, 'percent', '99.85%'],
    [100, 'percent', '100%'],
    [212.4, 'duration-ms', '212ms'],
    [12.34, 'duration-ms', '12.3ms'],
    [0.2126, 'duration-s', '0.213s'],
    [1234.5, 'plain', '1235'],
    [0.00012, 'plain', '0.0001'],
  ] as const)('formatValue(%p, %p) = %p', (v, kind, text) => {
    expect(formatValue(v, kind)).toBe(text);
  });

  it('numbers, shares and points', () => {
    expect(formatNumber(99)).toBe('99');
    expect(formatNumber(-0.5)).toBe('-0.5');
    expect(formatNumber(Number.NaN)).toBe('NaN');
    expect(formatShare(0.0012)).toBe('0.12%');
    expect(formatShare(0.031)).toBe('3.1%');
    expect(formatPoints(0.0035)).toBe('+0.35pp');
    expect(formatPoints(-0.001)).toBe('-0.1pp');
    expect(formatPoints(0.02)).toBe('+2pp');
  });

  it.each([
    [{ name: 'a', thresholdRange: { min: 99 } }, '>= 99'],
    [{ name: 'a', thresholdRange: { max: 500 } }, '<= 500'],
    [{ name: 'a', thresholdRange: { min: 99, max: 100 } }, '99 <= x <= 100'],
    [{ name: 'a', relative: { compare: 'difference' as const, max: 0.5 } }, 'canary - stable <= 0.5'],
    [{ name: 'a', relative: { compare: 'ratio' as const, min: 0.9, max: 1.1 } }, '0.9 <= canary / stable <= 1.1'],
    [{ name: 'a', thresholdRange: { max: 500 }, relative: { compare: 'ratio' as const, max: 1.2 } }, '<= 500, canary / stable <= 1.2'],
    [{ name: 'a' }, 'none'],
  ])('thresholdText(%o) = %p', (metric, text) => {
    expect(thresholdText(metric)).toBe(text);
  });
});
