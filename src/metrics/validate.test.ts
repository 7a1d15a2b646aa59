import { describe, expect, it } from '@jest/globals';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { checkSchema, crdSchema } from '../api/validate-schema.js';
import { packageRoot } from '../core/paths.js';
import { loadBuiltinTemplates, TemplateSet } from './templates.js';
import { validateCanary, validateDocuments, validateMetricTemplate } from './validate.js';
import { makeCanary } from '../../test/support/canary-fixture.js';

const templates = new TemplateSet(loadBuiltinTemplates());

const header = `apiVersion: routeshift.io/v1alpha1
kind: Canary
metadata:
  name: backend
  namespace: shop
spec:
  routeRef: {name: backend}
  stable: {name: backend-v1, port: 8080}
  canary: {name: backend-v2, port: 8080}
`;

describe('validateDocuments', () => {
  it('finds three different mistakes in one file, and only those', () => {
    const yaml =
      header +
      `  analysis:
    interval: 1m
    threshold: 3
    stepWeights: [10, 5, 50]
    metrics:
      - name: request-success-rate
        thresholdRange: {min: 99, max: 95}
      - name: errors
        query: sum(rate(errors_total{service="{{ target }}",team="{{ team }}"}[{{ interval }}]))
        thresholdRange: {max: 1}
`;
    const problems = validateDocuments(yaml, templates);
    expect(problems).toEqual([
      { path: 'spec.analysis.stepWeights[1]', message: 'steps must ascend: 5 is not above the previous step 10', document: 1, object: 'Canary/backend' },
      { path: 'spec.analysis.metrics[0].thresholdRange', message: 'thresholdRange min (99) is greater than max (95)', document: 1, object: 'Canary/backend' },
      {
        path: 'spec.analysis.metrics[1].query',
        message: 'the inline query: unknown variable "team" (add it to templateVariables)',
        document: 1,
        object: 'Canary/backend',
      },
    ]);
  });

  it('reports schema problems, step rules and PromQL errors across documents', () => {
    const yaml = `${header}  analysis:
    interval: 1 minute
    threshold: 0
    stepWeight: 60
    stepWeights: [10]
    metrics:
      - name: latency
        tresholdRange: {max: 1}
        query: sum(rate(x[1m])
      - name: request-duration
        templateRef: {name: slow-requests}
        thresholdRange: {}
---
apiVersion: routeshift.io/v1alpha1
kind: MetricTemplate
metadata: {name: slow-requests, namespace: shop}
spec:
  query: |
    sum(rate(http_slow_total{service="{{ target }}"}[{{ interval }}])
---
kind: Deployment
metadata: {name: x}
`;
    const problems = validateDocuments(yaml, templates).map((p) => `${p.document} ${p.path}: ${p.message}`);
    expect(problems).toEqual([
      '1 spec.analysis.interval: "1 minute" does not match ^([0-9]+(\\.[0-9]+)?(ms|s|m|h))+$',
      '1 spec.analysis.threshold: must be >= 1, got 0',
      '1 spec.analysis.metrics[0].tresholdRange: unknown field "tresholdRange"',
      '1 spec.analysis.stepWeight: set either stepWeights or stepWeight, not both',
      '1 spec.analysis.metrics[0]: nothing to check: set thresholdRange, relative, or mode: sequential',
      '1 spec.analysis.metrics[1].thresholdRange: thresholdRange needs min, max or both',
      // The template is broken, so the Canary referring to it cannot find a usable one.
      '1 spec.analysis.metrics[1].templateRef.name: MetricTemplate "slow-requests" not found in namespace shop nor among the built-in templates',
      '2 spec.query: PromQL syntax error: unexpected end of query at line 1, column 66',
      '3 kind: expected Canary or MetricTemplate (routeshift.io/v1alpha1), got "Deployment"',
    ]);
  });

  it('lets Canaries use templates defined in the same file', () => {
    const yaml = `apiVersion: routeshift.io/v1alpha1
kind: MetricTemplate
metadata: {name: queue, namespace: shop}
spec: {query: 'max(queue_depth{service="{{ target }}",tier="{{ tier }}"})'}
---
${header}  analysis:
    interval: 30s
    threshold: 2
    stepWeight: 20
    metrics:
      - name: queue
        templateRef: {name: queue}
        templateVariables: {tier: gold}
        thresholdRange: {max: 10}
`;
    expect(validateDocuments(yaml, templates)).toEqual([]);
  });

  it('reports YAML syntax errors with their line', () => {
    const problems = validateDocuments('apiVersion: routeshift.io/v1alpha1\nkind: Canary\nspec: {a: [1, 2}\n', templates);
    expect(problems.length).toBeGreaterThan(0);
    expect(problems[0]).toMatchObject({ path: '', document: 1, message: expect.stringMatching(/^YAML: .*line 3/) });
  });

  it.each(readdirSync(join(packageRoot(), 'analysis', 'examples')).filter((f) => f.endsWith('.yaml')))('example %s validates clean', (file) => {
    const text = readFileSync(join(packageRoot(), 'analysis', 'examples', file), 'utf8');
    expect(validateDocuments(text, templates)).toEqual([]);
    expect(text).toMatch(/kind: Canary/);
  });
});

describe('validateCanary rules', () => {
  const sr = { name: 'request-success-rate', thresholdRange: { min: 99 } };
  const paths = (c: unknown) => validateCanary(c, templates).map((p) => p.path);

  it('accepts a minimal valid Canary', () => {
    expect(validateCanary(makeCanary([sr]), templates)).toEqual([]);
  });

  it('needs steps, and a stepWeight within maxWeight (default 50)', () => {
    const c = makeCanary([sr]);
    delete c.spec.analysis.stepWeights;
    expect(paths(c)).toEqual(['spec.analysis']);
    c.spec.analysis.stepWeight = 60;
    expect(validateCanary(c, templates)).toEqual([{ path: 'spec.analysis.stepWeight', message: 'stepWeight 60 exceeds maxWeight 50 (the default)' }]);
    c.spec.analysis.maxWeight = 80;
    expect(paths(c)).toEqual([]);
  });

  it('rejects maxWeight with stepWeights, and equal steps', () => {
    const c = makeCanary([sr]);
    c.spec.analysis.stepWeights = [10, 10];
    c.spec.analysis.maxWeight = 50;
    expect(paths(c)).toEqual(['spec.analysis.stepWeights[1]', 'spec.analysis.maxWeight']);
  });

  it('rejects step weights outside 1..100 through the schema', () => {
    const c = makeCanary([sr]);
    c.spec.analysis.stepWeights = [0, 101];
    expect(paths(c)).toEqual(['spec.analysis.stepWeights[0]', 'spec.analysis.stepWeights[1]']);
  });

  it('rejects duplicate metric names, the same Service on both sides, and relative without bounds', () => {
    const c = makeCanary([sr, { ...sr, relative: { compare: 'ratio' } }]);
    c.spec.canary.name = 'backend-v1';
    expect(paths(c)).toEqual(['spec.canary.name', 'spec.analysis.metrics[1].name', 'spec.analysis.metrics[1].relative']);
  });

  it('rejects a templateVariables key shadowing a built-in', () => {
    const c = makeCanary([{ ...sr, templateVariables: { namespace: 'x', 'bad-name': 'y' } }]);
    expect(paths(c).sort()).toEqual(['spec.analysis.metrics[0].templateVariables.bad-name', 'spec.analysis.metrics[0].templateVariables.namespace']);
  });

  it('checks the header', () => {
    const c = { ...makeCanary([sr]), apiVersion: 'v1', metadata: { name: 'Bad_Name' } };
    expect(paths(c)).toEqual(['apiVersion', 'metadata.name']);
  });
});

describe('validateMetricTemplate', () => {
  it.each(loadBuiltinTemplates().map((t) => [t.metadata.name, t] as const))('built-in %s is valid', (_name, t) => {
    expect(validateMetricTemplate(t)).toEqual([]);
  });

  it('accepts any variable name but needs totalQuery and badQuery together', () => {
    const t = { apiVersion: 'routeshift.io/v1alpha1', kind: 'MetricTemplate', metadata: { name: 't' }, spec: { query: 'sum(x{a="{{ anything }}"})', totalQuery: 'sum(y)' } };
    expect(validateMetricTemplate(t)).toEqual([{ path: 'spec.badQuery', message: 'totalQuery and badQuery go together (the sequential mode needs both)' }]);
  });
});

describe('checkSchema', () => {
  it('checks types, enums, int-or-string and nested required fields', () => {
    const schema = crdSchema('Canary');
    const obj = {
      spec: {
        routeRef: { name: 'r', rule: true, kind: 'TCPRoute' },
        stable: { name: 's' },
        canary: { name: 'c', port: '80' },
        analysis: { interval: '1m', threshold: 1.5 },
      },
    };
    expect(checkSchema(obj, schema)).toEqual([
      { path: 'spec.routeRef.rule', message: 'must be an integer or a string, got boolean' },
      { path: 'spec.routeRef.kind', message: 'must be one of "HTTPRoute", "GRPCRoute", got "TCPRoute"' },
      { path: 'spec.stable.port', message: 'is required' },
      { path: 'spec.canary.port', message: 'must be an integer, got string' },
      { path: 'spec.analysis.threshold', message: 'must be an integer, got number' },
    ]);
  });

  it('honours exclusiveMinimum and leaves status alone', () => {
    const c = makeCanary([{ name: 'request-success-rate', mode: 'sequential', sequential: { falseRollback: 0 } }]);
    const withStatus = { ...c, status: { anything: { goes: 1 } } };
    expect(checkSchema(withStatus, crdSchema('Canary'))).toEqual([
      { path: 'spec.analysis.metrics[0].sequential.falseRollback', message: 'must be > 0, got 0' },
    ]);
  });
});
