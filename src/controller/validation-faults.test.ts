/**
 * Malformed specs that test/e2e/faults-malformed.test.ts found starting rollouts (and shifting
 * traffic) instead of being reported as InvalidSpec: the controller's validation must catch them.
 */
import type { Canary } from '../api/canary.js';
import { silentLogger } from '../core/logger.js';
import { createAnalysis, type Analysis } from './analysis.js';
import { DEFAULT_CONFIG } from './config.js';
import { validatePromQL } from '../metrics/promql.js';
import type { MetricProvider } from '../metrics/provider.js';

const provider: MetricProvider = {
  query: async () => ({ kind: 'no-data' }),
  queryVector: async () => ({ kind: 'vector', samples: [] }),
  ping: async () => {},
};

function canary(edit: (c: Canary) => void = () => {}): Canary {
  const c: Canary = {
    apiVersion: 'routeshift.io/v1alpha1',
    kind: 'Canary',
    metadata: { name: 'c', namespace: 'ns' },
    spec: {
      routeRef: { name: 'r' },
      stable: { name: 's', port: 80 },
      canary: { name: 'k', port: 80 },
      provider: 'istio',
      analysis: {
        interval: '10s',
        threshold: 2,
        stepWeights: [20, 40],
        metrics: [{ name: 'request-success-rate', thresholdRange: { min: 99 } }],
      },
    },
  };
  edit(c);
  return c;
}

let analysis: Analysis;
beforeAll(async () => {
  analysis = await createAnalysis({ provider, config: structuredClone(DEFAULT_CONFIG), logger: silentLogger() });
});

const paths = (c: Canary): string[] => analysis.validate(c).map((p) => p.path);

describe('controller validation of malformed Canaries', () => {
  it('accepts the well-formed Canary', () => {
    expect(analysis.validate(canary())).toEqual([]);
  });

  it('rejects a step of 100 (moving to 100 is the promotion)', () => {
    expect(paths(canary((c) => (c.spec.analysis.stepWeights = [50, 100])))).toContain('spec.analysis.stepWeights[1]');
  });

  it('rejects an interval of zero, also when every metric has its own window', () => {
    const zero = (c: Canary): void => {
      c.spec.analysis.interval = '0s';
      c.spec.analysis.metrics = [{ name: 'request-success-rate', interval: '1m', thresholdRange: { min: 99 } }];
    };
    expect(analysis.validate(canary(zero))).toEqual([expect.objectContaining({ path: 'spec.analysis.interval', message: expect.stringContaining('"0s"') })]);
  });

  it.each([
    ['tolerance 0', { tolerance: 0 }, 'spec.analysis.metrics[0].sequential.tolerance'],
    ['tolerance 150', { tolerance: 150 }, 'spec.analysis.metrics[0].sequential.tolerance'],
    ['catastrophicErrorRate 0', { catastrophicErrorRate: 0 }, 'spec.analysis.metrics[0].sequential.catastrophicErrorRate'],
  ])('rejects sequential %s', (_label, sequential, path) => {
    const c = canary((x) => {
      x.spec.analysis.metrics = [{ name: 'request-success-rate', mode: 'sequential', sequential }];
    });
    expect(paths(c)).toContain(path);
  });

  it('rejects a sequential block on a threshold metric, and thresholds on a sequential one', () => {
    expect(paths(canary((c) => ((c.spec.analysis.metrics as NonNullable<typeof c.spec.analysis.metrics>)[0]!.sequential = { tolerance: 1 })))).toContain(
      'spec.analysis.metrics[0].sequential',
    );
    expect(paths(canary((c) => ((c.spec.analysis.metrics as NonNullable<typeof c.spec.analysis.metrics>)[0]!.mode = 'sequential')))).toContain(
      'spec.analysis.metrics[0].thresholdRange',
    );
  });

  it('rejects a non-confirm webhook without a url and a url that is not http(s)', () => {
    const c = canary((x) => {
      x.spec.analysis.webhooks = [
        { name: 'a', type: 'rollout' },
        { name: 'b', type: 'pre-rollout', url: 'not a url' },
        { name: 'c', type: 'post-rollout', url: 'ftp://example.test/x' },
        { name: 'gate', type: 'confirm-promotion' },
      ];
    });
    expect(analysis.validate(c)).toEqual([
      expect.objectContaining({ path: 'spec.analysis.webhooks[0].url', message: expect.stringContaining('needs a url') }),
      expect.objectContaining({ path: 'spec.analysis.webhooks[1].url', message: expect.stringContaining('not a URL') }),
      expect.objectContaining({ path: 'spec.analysis.webhooks[2].url', message: expect.stringContaining('ftp:') }),
    ]);
  });

  it('accepts a rollout hook with a hey command and no url (the native load source), and reports a bad command at its path', () => {
    const c = canary((x) => {
      x.spec.analysis.webhooks = [
        { name: 'load-test', type: 'rollout', metadata: { cmd: 'hey -z 1m -q 10 -c 2 http://podinfo-canary.test:9898/' } },
        { name: 'bad-load', type: 'rollout', metadata: { cmd: 'hey -z 1m -k http://podinfo-canary.test:9898/' } },
        { name: 'shell', type: 'rollout', metadata: { type: 'bash', cmd: 'curl -sf http://x/' } },
        { name: 'not-rollout', type: 'pre-rollout', metadata: { cmd: 'hey -z 1m http://x/' } },
      ];
    });
    expect(analysis.validate(c)).toEqual([
      expect.objectContaining({ path: 'spec.analysis.webhooks[2].url', message: expect.stringContaining('needs a url') }),
      expect.objectContaining({ path: 'spec.analysis.webhooks[3].url', message: expect.stringContaining('needs a url') }),
      { path: 'spec.analysis.webhooks[1].metadata.cmd', message: 'unknown hey flag -k' },
    ]);
  });

  it('reports a problem both layers find once', () => {
    const problems = analysis.validate(canary((c) => (c.spec.analysis.stepWeights = [40, 20])));
    expect(problems.filter((p) => p.path === 'spec.analysis.stepWeights[1]')).toHaveLength(1);
  });
});

describe('validatePromQL and string results', () => {
  it.each(['"a string"', '("a string")'])('rejects %s, which returns a string', (q) => {
    expect(validatePromQL(q)).toMatchObject({ ok: false, message: 'the query returns a string, not a number' });
  });

  it.each(['1', 'time()', 'sum(up)', 'label_replace(up, "a", "b", "c", "d")'])('still accepts %s', (q) => {
    expect(validatePromQL(q)).toEqual({ ok: true });
  });
});
