import { beforeAll, describe, expect, it } from '@jest/globals';
import { CelValidator, rewriteHas } from './cel.js';
import { loadYamlDocuments } from './crd-files.js';
import { crdToResourceType } from './crd.js';
import { isObject, type Json, type JsonObject } from './json.js';
import { pruneAndDefault, validateSchema, type Schema } from './schema.js';
import type { FieldError } from './status.js';

const GATEWAY_CRDS = '/work/shared/reference/gateway-api-v1.4.1-standard-crds.yaml';
const ISTIO_CRDS = '/work/shared/reference/istio-destinationrule-crd.yaml';

async function crdSchema(file: string, name: string, version: string): Promise<Schema> {
  const docs = await loadYamlDocuments(file);
  const crd = docs.find((d) => isObject(d) && isObject(d['metadata']) && d['metadata']['name'] === name);
  const schema = crdToResourceType(crd as JsonObject).schemas.get(version);
  if (!schema) throw new Error(`no schema for ${name} ${version}`);
  return schema;
}

function messages(errors: FieldError[]): string[] {
  return errors.map((e) => `${e.field}: ${e.message}`);
}

/** What the server does on a write: prune, default, validate, then CEL unless types are wrong. */
function admit(obj: JsonObject, schema: Schema, old?: JsonObject, cel = new CelValidator()): { errors: FieldError[]; unknown: string[] } {
  const unknown: string[] = [];
  pruneAndDefault(obj, schema, '', unknown, true);
  const errors: FieldError[] = [];
  validateSchema(obj, schema, '', errors, true);
  if (!errors.some((e) => e.reason === 'FieldValueTypeInvalid')) cel.validate(obj, old, schema, '', errors);
  return { errors, unknown };
}

function route(backendRefs: Json[]): JsonObject {
  return {
    apiVersion: 'gateway.networking.k8s.io/v1',
    kind: 'HTTPRoute',
    metadata: { name: 'backend-split', namespace: 'istio-test' },
    spec: {
      parentRefs: [{ name: 'backend', kind: 'Service', group: '', port: 80 }],
      rules: [{ backendRefs }],
    },
  };
}

describe('structural schema: Gateway API HTTPRoute v1', () => {
  let schema: Schema;

  beforeAll(async () => {
    schema = await crdSchema(GATEWAY_CRDS, 'httproutes.gateway.networking.k8s.io', 'v1');
  });

  it('fills defaults: backendRef group/kind/weight, a parentRef without group/kind gets Gateway, and keeps group ""', () => {
    const obj = route([{ name: 'backend-v1', port: 80 }]);
    (obj['spec'] as JsonObject)['parentRefs'] = [{ name: 'backend', kind: 'Service', group: '', port: 80 }, { name: 'gw' }];
    const { errors } = admit(obj, schema);
    expect(errors).toEqual([]);
    const spec = obj['spec'] as { parentRefs: JsonObject[]; rules: Array<{ backendRefs: JsonObject[]; matches: Json }> };
    expect(spec.parentRefs[0]).toEqual({ name: 'backend', kind: 'Service', group: '', port: 80 });
    expect(spec.parentRefs[1]).toEqual({ name: 'gw', group: 'gateway.networking.k8s.io', kind: 'Gateway' });
    expect(spec.rules[0]?.backendRefs[0]).toEqual({ name: 'backend-v1', port: 80, group: '', kind: 'Service', weight: 1 });
    expect(spec.rules[0]?.matches).toEqual([{ path: { type: 'PathPrefix', value: '/' } }]);
  });

  it('refuses weight 2000000 naming the field, with the real server wording', () => {
    const { errors } = admit(route([{ name: 'backend-v1', port: 80, weight: 2000000 }]), schema);
    expect(errors).toEqual([
      {
        reason: 'FieldValueInvalid',
        field: 'spec.rules[0].backendRefs[0].weight',
        message: 'Invalid value: 2000000: spec.rules[0].backendRefs[0].weight in body should be less than or equal to 1000000',
      },
    ]);
  });

  it('refuses a Service backendRef without port through the CEL rule', () => {
    const { errors } = admit(route([{ name: 'backend-v1', weight: 10 }]), schema);
    expect(errors).toEqual([
      { reason: 'FieldValueInvalid', field: 'spec.rules[0].backendRefs[0]', message: 'Invalid value: Must have port for Service reference' },
    ]);
  });

  it('prunes unknown fields and reports their paths (for strict field validation)', () => {
    const obj = route([{ name: 'backend-v1', port: 80, colour: 'blue' }]);
    (obj['spec'] as JsonObject)['foo'] = 1;
    const { errors, unknown } = admit(obj, schema);
    expect(errors).toEqual([]);
    expect(unknown.sort()).toEqual(['spec.foo', 'spec.rules[0].backendRefs[0].colour']);
    expect((obj['spec'] as JsonObject)['foo']).toBeUndefined();
  });

  it('reports type errors and skips CEL then, like the real server', () => {
    const { errors } = admit(route([{ name: 'backend-v1', port: 'eighty' }]), schema);
    expect(errors.map((e) => `${e.field}: ${e.message}`)).toEqual([
      'spec.rules[0].backendRefs[0].port: Invalid value: "string": spec.rules[0].backendRefs[0].port in body must be of type integer: "string"',
    ]);
  });

  it('accepts the seed HTTPRoute unchanged apart from defaults', () => {
    const obj = route([
      { name: 'backend-v1', port: 80, weight: 90 },
      { name: 'backend-v2', port: 80, weight: 10 },
    ]);
    expect(admit(obj, schema).errors).toEqual([]);
  });
});

describe('real CRD rules beyond the seed', () => {
  it('accepts a rich valid HTTPRoute and rejects the rule-level CEL violations', async () => {
    const schema = await crdSchema(GATEWAY_CRDS, 'httproutes.gateway.networking.k8s.io', 'v1');
    const rich = route([{ name: 'a', port: 80, weight: 50 }, { name: 'b', port: 80, weight: 50 }]);
    const rule = ((rich['spec'] as JsonObject)['rules'] as JsonObject[])[0] as JsonObject;
    rule['matches'] = [{ path: { type: 'PathPrefix', value: '/api' }, headers: [{ name: 'x-canary', value: 'true' }], method: 'GET' }];
    rule['filters'] = [
      { type: 'RequestHeaderModifier', requestHeaderModifier: { set: [{ name: 'x-a', value: 'b' }], remove: ['x-c'] } },
      { type: 'URLRewrite', urlRewrite: { path: { type: 'ReplacePrefixMatch', replacePrefixMatch: '/v2' } } },
    ];
    rule['timeouts'] = { request: '10s', backendRequest: '5s' };
    expect(admit(rich, schema).errors).toEqual([]);

    const exact = structuredClone(rich);
    (((exact['spec'] as JsonObject)['rules'] as JsonObject[])[0] as JsonObject)['matches'] = [{ path: { type: 'Exact', value: '/api' } }];
    expect(messages(admit(exact, schema).errors)).toEqual([
      'spec.rules[0]: Invalid value: When using URLRewrite filter with path.replacePrefixMatch, exactly one PathPrefix match must be specified',
    ]);
    const slow = structuredClone(rich);
    (((slow['spec'] as JsonObject)['rules'] as JsonObject[])[0] as JsonObject)['timeouts'] = { request: '5s', backendRequest: '10s' };
    expect(messages(admit(slow, schema).errors)).toEqual(['spec.rules[0].timeouts: Invalid value: backendRequest timeout cannot be longer than request timeout']);
  });

  it('reads RE2 patterns such as (?i) in GRPCRoute rules', async () => {
    const schema = await crdSchema(GATEWAY_CRDS, 'grpcroutes.gateway.networking.k8s.io', 'v1');
    const grpc = (service: string): JsonObject => ({
      spec: { parentRefs: [{ name: 'backend', kind: 'Service', group: '' }], rules: [{ matches: [{ method: { service, method: 'Baz' } }], backendRefs: [{ name: 'b', port: 9000 }] }] },
    });
    expect(admit(grpc('Foo.Bar'), schema).errors).toEqual([]);
    expect(admit(grpc('foo..bar'), schema).errors.map((e) => e.field)).toEqual(['spec.rules[0].matches[0].method']);
  });

  it('checks Istio DestinationRule duration rules', async () => {
    const schema = await crdSchema(ISTIO_CRDS, 'destinationrules.networking.istio.io', 'v1');
    const dr = (connectTimeout: string): JsonObject => ({
      spec: { host: 'backend-v1.istio-test.svc.cluster.local', trafficPolicy: { connectionPool: { tcp: { maxConnections: 100, connectTimeout } }, loadBalancer: { simple: 'ROUND_ROBIN' }, tls: { mode: 'ISTIO_MUTUAL' } } },
    });
    expect(admit(dr('30ms'), schema).errors).toEqual([]);
    expect(messages(admit(dr('0.5ms'), schema).errors)).toEqual([
      'spec.trafficPolicy.connectionPool.tcp.connectTimeout: Invalid value: "0.5ms": must be a valid duration greater than 1ms',
    ]);
  });
});

describe('structural schema keywords', () => {
  const schema: Schema = {
    type: 'object',
    properties: {
      spec: {
        type: 'object',
        required: ['name'],
        properties: {
          name: { type: 'string', minLength: 2, maxLength: 5, pattern: '^[a-z]+$' },
          mode: { type: 'string', enum: ['a', 'b'], default: 'a' },
          count: { type: 'integer', minimum: 1, maximum: 3, exclusiveMaximum: true },
          ratio: { type: 'number', minimum: 0, exclusiveMinimum: true },
          tags: { type: 'array', maxItems: 2, minItems: 1, items: { type: 'string' }, 'x-kubernetes-list-type': 'set' },
          ports: {
            type: 'array',
            items: { type: 'object', properties: { name: { type: 'string' }, port: { type: 'integer' } } },
            'x-kubernetes-list-type': 'map',
            'x-kubernetes-list-map-keys': ['name'],
          },
          target: { 'x-kubernetes-int-or-string': true },
          extra: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
          labels: { type: 'object', additionalProperties: { type: 'string' } },
          when: { type: 'string', format: 'date-time' },
          note: { type: 'string', nullable: true },
          nested: { type: 'object', default: {}, properties: { depth: { type: 'integer', default: 2 } } },
          embedded: { type: 'object', 'x-kubernetes-embedded-resource': true, properties: { spec: { type: 'object' } } },
        },
      },
    },
  };

  function errorsOf(spec: JsonObject): string[] {
    const obj: JsonObject = { apiVersion: 'x/v1', kind: 'X', metadata: { name: 'x' }, spec };
    return admit(obj, schema).errors.map((e) => `${e.field}: ${e.message}`);
  }

  it('applies nested defaults and keeps preserved/embedded fields', () => {
    const obj: JsonObject = {
      metadata: { name: 'x', bogus: true },
      spec: { name: 'ab', extra: { anything: { goes: 1 } }, embedded: { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' }, spec: {} }, note: null },
    };
    const { errors, unknown } = admit(obj, schema);
    expect(errors).toEqual([]);
    expect(unknown).toEqual(['metadata.bogus']);
    expect(obj['metadata']).toEqual({ name: 'x' });
    expect(obj['spec']).toEqual({
      name: 'ab',
      mode: 'a',
      nested: { depth: 2 },
      extra: { anything: { goes: 1 } },
      embedded: { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' }, spec: {} },
      note: null,
    });
  });

  it('drops nulls of non-nullable fields and then defaults them', () => {
    const obj: JsonObject = { spec: { name: 'ab', mode: null } };
    expect(admit(obj, schema).errors).toEqual([]);
    expect((obj['spec'] as JsonObject)['mode']).toBe('a');
  });

  it('reports each violated keyword with the real wording', () => {
    expect(errorsOf({})).toEqual(['spec.name: Required value']);
    expect(errorsOf({ name: 'toolongname' })).toEqual(['spec.name: Too long: may not be more than 5 bytes']);
    expect(errorsOf({ name: 'a' })).toEqual(['spec.name: Invalid value: "a": spec.name in body should be at least 2 chars long']);
    expect(errorsOf({ name: 'AB' })).toEqual(["spec.name: Invalid value: \"AB\": spec.name in body should match '^[a-z]+$'"]);
    expect(errorsOf({ name: 'ab', mode: 'c' })).toEqual(['spec.mode: Unsupported value: "c": supported values: "a", "b"']);
    expect(errorsOf({ name: 'ab', count: 3 })).toEqual(['spec.count: Invalid value: 3: spec.count in body should be less than 3']);
    expect(errorsOf({ name: 'ab', count: 0 })).toEqual(['spec.count: Invalid value: 0: spec.count in body should be greater than or equal to 1']);
    expect(errorsOf({ name: 'ab', count: 1.5 })).toEqual(['spec.count: Invalid value: "number": spec.count in body must be of type integer: "number"']);
    expect(errorsOf({ name: 'ab', ratio: 0 })).toEqual(['spec.ratio: Invalid value: 0: spec.ratio in body should be greater than 0']);
    expect(errorsOf({ name: 'ab', tags: ['a', 'b', 'c'] })).toEqual(['spec.tags: Too many: 3: must have at most 2 items']);
    expect(errorsOf({ name: 'ab', tags: [] })).toEqual(['spec.tags: Invalid value: 0: spec.tags in body should have at least 1 items']);
    expect(errorsOf({ name: 'ab', tags: ['a', 'a'] })).toEqual(['spec.tags[1]: Duplicate value: "a"']);
    expect(errorsOf({ name: 'ab', ports: [{ name: 'p' }, { name: 'p', port: 2 }] })).toEqual(['spec.ports[1]: Duplicate value: {"name":"p"}']);
    expect(errorsOf({ name: 'ab', target: true })).toEqual(['spec.target: Invalid value: "boolean": spec.target in body must be of type integer,string: "boolean"']);
    expect(errorsOf({ name: 'ab', target: 8080 })).toEqual([]);
    expect(errorsOf({ name: 'ab', labels: { a: 1 } })).toEqual(['spec.labels.a: Invalid value: "integer": spec.labels.a in body must be of type string: "integer"']);
    expect(errorsOf({ name: 'ab', when: 'yesterday' })).toEqual(['spec.when: Invalid value: "yesterday": spec.when in body must be of type date-time: "yesterday"']);
    expect(errorsOf({ name: 'ab', when: '2026-01-01T00:00:00Z' })).toEqual([]);
  });
});

describe('CEL rules', () => {
  const schema: Schema = {
    type: 'object',
    properties: {
      spec: {
        type: 'object',
        properties: {
          replicas: { type: 'integer', 'x-kubernetes-validations': [{ rule: 'self >= oldSelf', message: 'replicas may not decrease' }] },
          min: { type: 'integer' },
          max: { type: 'integer' },
          items: {
            type: 'array',
            items: { type: 'object', properties: { path: { type: 'object', properties: { value: { type: 'string' } } } } },
            'x-kubernetes-validations': [{ rule: 'self.size() == 0 || has(self[0].path)', messageExpression: "'first item needs a path, got ' + string(self.size()) + ' items'" }],
          },
          names: {
            type: 'array',
            items: { type: 'string' },
            'x-kubernetes-validations': [{ rule: 'self.all(n, n.startsWith("x-"))', reason: 'FieldValueForbidden', message: 'names must start with x-' }],
          },
        },
        'x-kubernetes-validations': [
          { rule: '!has(self.min) || !has(self.max) || self.min <= self.max', message: 'min must not exceed max', fieldPath: '.min' },
          { rule: 'self.unknownFunction()', message: 'never evaluated' },
        ],
      },
    },
  };

  it('evaluates rules with has(), macros, messageExpression, reason and fieldPath; skips rules the library cannot run', () => {
    const obj: JsonObject = { spec: { min: 5, max: 2, items: [{}], names: ['x-a', 'b'] } };
    const { errors } = admit(obj, schema);
    expect(errors.map((e) => `${e.field}: ${e.message}`).sort()).toEqual([
      'spec.items: Invalid value: first item needs a path, got 1 items',
      'spec.min: Invalid value: min must not exceed max',
      'spec.names: Forbidden: names must start with x-',
    ]);
  });

  it('evaluates transition rules (oldSelf) on update only', () => {
    expect(admit({ spec: { replicas: 1 } }, schema).errors).toEqual([]);
    const errs = admit({ spec: { replicas: 1 } }, schema, { spec: { replicas: 3 } }).errors;
    expect(errs.map((e) => `${e.field}: ${e.message}`)).toEqual(['spec.replicas: Invalid value: 1: replicas may not decrease']);
    expect(admit({ spec: { replicas: 4 } }, schema, { spec: { replicas: 3 } }).errors).toEqual([]);
  });

  it('rewrites has() over indexed paths into `in` tests, leaving strings alone', () => {
    expect(rewriteHas('has(self.matches[0].path) && has(self.a)')).toBe("('path' in (self.matches[0])) && has(self.a)");
    expect(rewriteHas('self.x == "has(self.y[0].z)"')).toBe('self.x == "has(self.y[0].z)"');
  });
});
