import { replaceBetween } from './doc-section.js';
import { istioExposition } from './istio-target.js';
import { parseStatCpuTicks, parseStatusRss } from './proc.js';
import { histogramDelta, histogramOf, histogramQuantile, parseExposition, quantile, sumOf } from './prom-text.js';
import { parseScaleArgs } from './scale.js';

describe('prom-text', () => {
  const text = [
    '# HELP x_seconds lateness',
    '# TYPE x_seconds histogram',
    'x_seconds_bucket{le="0.1"} 50',
    'x_seconds_bucket{le="1"} 90',
    'x_seconds_bucket{le="+Inf"} 100',
    'x_seconds_sum 30',
    'x_seconds_count 100',
    'req_count{outcome="value",path="/q"} 7',
    'req_count{outcome="PrometheusTimeout",path="/q"} 3',
    'esc{a="say \\"hi\\""} 1',
  ].join('\n');

  it('parses samples, labels (with escapes) and sums by label', () => {
    const s = parseExposition(text);
    expect(sumOf(s, 'req_count')).toBe(10);
    expect(sumOf(s, 'req_count', { outcome: 'value' })).toBe(7);
    expect(s.find((x) => x.name === 'esc')?.labels.a).toBe('say "hi"');
  });

  it('interpolates quantiles inside buckets and flags the +Inf bucket', () => {
    const h = histogramOf(parseExposition(text), 'x_seconds');
    expect(h.count).toBe(100);
    expect(histogramQuantile(0.5, h)).toEqual({ value: 0.1, open: false });
    // rank 70 is halfway through the (0.1, 1] bucket's 40 observations.
    expect(histogramQuantile(0.7, h)?.value).toBeCloseTo(0.1 + 0.9 * (20 / 40));
    expect(histogramQuantile(0.99, h)).toEqual({ value: 1, open: true });
    expect(histogramQuantile(0.5, { buckets: [], count: 0, sum: 0 })).toBeUndefined();
  });

  it('subtracts two scrapes', () => {
    const before = histogramOf(parseExposition(text), 'x_seconds');
    const after = histogramOf(parseExposition(text.replace('le="1"} 90', 'le="1"} 95').replace('le="+Inf"} 100', 'le="+Inf"} 110').replace('_count 100', '_count 110')), 'x_seconds');
    const d = histogramDelta(after, before);
    expect(d.buckets.map((b) => b.count)).toEqual([0, 5, 10]);
    expect(d.count).toBe(10);
  });

  it('takes exact nearest-rank quantiles of raw values', () => {
    expect(quantile([5, 1, 3, 2, 4], 0.5)).toBe(3);
    expect(quantile([5, 1, 3, 2, 4], 0.99)).toBe(5);
    expect(quantile([], 0.5)).toBeUndefined();
  });
});

describe('proc', () => {
  it('reads utime+stime past a command name with spaces and parentheses', () => {
    const stat = '1234 (node (x) y) S 1 1234 1234 0 -1 4194304 100 0 0 0 250 75 0 0 20 0 11 0 1000 100000 2000';
    expect(parseStatCpuTicks(stat)).toBe(325);
  });

  it('reads VmRSS in bytes', () => {
    expect(parseStatusRss('Name:\tnode\nVmRSS:\t  204800 kB\nThreads: 11\n')).toBe(204800 * 1024);
    expect(parseStatusRss('Name: x\n')).toBe(0);
  });
});

describe('doc sections', () => {
  const start = '<!-- a:start -->';
  const end = '<!-- a:end -->';
  it('replaces only the text between its markers', () => {
    const doc = `# Benchmarks\n\n<!-- b:start -->\nother\n<!-- b:end -->\n\n${start}\nold\n${end}\n\ntail\n`;
    expect(replaceBetween(doc, start, end, 'new')).toBe(`# Benchmarks\n\n<!-- b:start -->\nother\n<!-- b:end -->\n\n${start}\nnew\n${end}\n\ntail\n`);
  });

  it('appends the markers when absent', () => {
    expect(replaceBetween('# B\n', start, end, 'x')).toBe(`# B\n\n${start}\nx\n${end}\n`);
  });
});

describe('istio target', () => {
  it('exposes counters and a histogram per Service that grow with time', () => {
    const o = { namespace: 'bench', services: ['a', 'b'], rps: 2, latencyMs: 20 };
    const samples = parseExposition(istioExposition(o, 10));
    expect(sumOf(samples, 'istio_requests_total', { destination_service_name: 'a', response_code: '200' })).toBe(20);
    const h = histogramOf(
      samples.filter((s) => s.labels.destination_service_name === 'b'),
      'istio_request_duration_milliseconds',
    );
    expect(h.count).toBe(20);
    expect(h.buckets.find((b) => b.le === 10)?.count).toBe(0);
    expect(h.buckets.find((b) => b.le === 25)?.count).toBe(20);
  });
});

describe('bench arguments', () => {
  it('reads counts, durations and batching settings', () => {
    const a = parseScaleArgs(['--counts', '10,1000', '--duration', '90s', '--batching', 'off,50ms', '--no-write', '--skip-detection']);
    expect(a).toMatchObject({ counts: [10, 1000], durationMs: 90_000, batching: ['off', '50ms'], write: false, detection: false, scale: true });
  });

  it('refuses what it cannot run', () => {
    expect(() => parseScaleArgs(['--counts', '10,x'])).toThrow('--counts');
    expect(() => parseScaleArgs(['--batching', 'soon'])).toThrow();
    expect(() => parseScaleArgs(['--frobnicate'])).toThrow('unknown flag');
  });
});

describe('deployedNodeOptions', () => {
  it('reads the controller container NODE_OPTIONS from deploy/base/deployment.yaml', async () => {
    const { deployedNodeOptions } = await import('./controller-process.js');
    const { readFileSync } = await import('node:fs');
    const { parse } = await import('yaml');
    const { fromRoot } = await import('../core/paths.js');
    const manifest = parse(readFileSync(fromRoot('deploy/base/deployment.yaml'), 'utf8')) as {
      spec: { template: { spec: { containers: Array<{ env?: Array<{ name: string; value?: string }> }> } } };
    };
    const env = manifest.spec.template.spec.containers.flatMap((c) => c.env ?? []).find((e) => e.name === 'NODE_OPTIONS');
    expect(env?.value).toMatch(/--max-old-space-size=\d+/);
    expect(deployedNodeOptions()).toBe(env?.value);
  });
});
