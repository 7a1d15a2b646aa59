import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { packageRoot } from '../core/paths.js';

/**
 * A small checker for the structural OpenAPI v3 subset our CRDs use, so `routeshift validate` and
 * the controller reject what the API server would, without a cluster. It also reports unknown
 * fields, which the API server silently prunes: a misspelt `tresholdRange` would otherwise vanish.
 */

export interface SchemaProblem {
  path: string;
  message: string;
}

export interface JSONSchemaProps {
  type?: string;
  required?: string[];
  properties?: Record<string, JSONSchemaProps>;
  additionalProperties?: JSONSchemaProps | boolean;
  items?: JSONSchemaProps;
  enum?: unknown[];
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: boolean;
  exclusiveMaximum?: boolean;
  minLength?: number;
  maxLength?: number;
  minItems?: number;
  maxItems?: number;
  pattern?: string;
  format?: string;
  default?: unknown;
  description?: string;
  'x-kubernetes-int-or-string'?: boolean;
  'x-kubernetes-preserve-unknown-fields'?: boolean;
}

const CRD_FILES = { Canary: 'canary.yaml', MetricTemplate: 'metrictemplate.yaml' } as const;
export type SchemaKind = keyof typeof CRD_FILES;

const schemas = new Map<SchemaKind, JSONSchemaProps>();

/** The openAPIV3Schema of our CRD for `kind`, read once from deploy/crds. */
export function crdSchema(kind: SchemaKind): JSONSchemaProps {
  let schema = schemas.get(kind);
  if (!schema) {
    const crd = parse(readFileSync(join(packageRoot(), 'deploy', 'crds', CRD_FILES[kind]), 'utf8')) as {
      spec: { versions: Array<{ name: string; schema: { openAPIV3Schema: JSONSchemaProps } }> };
    };
    const version = crd.spec.versions.find((v) => v.name === 'v1alpha1') ?? crd.spec.versions[0];
    if (!version) throw new Error(`no versions in ${CRD_FILES[kind]}`);
    schema = version.schema.openAPIV3Schema;
    schemas.set(kind, schema);
  }
  return schema;
}

function join2(path: string, key: string): string {
  return path ? `${path}.${key}` : key;
}

function typeOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number';
  return typeof value;
}

function typeMatches(expected: string, value: unknown): boolean {
  const actual = typeOf(value);
  if (expected === 'number') return actual === 'number' || actual === 'integer';
  return expected === actual;
}

/** Every problem of `value` against `schema`; `path` is the dotted spec path of `value`. */
export function checkSchema(value: unknown, schema: JSONSchemaProps, path = ''): SchemaProblem[] {
  const problems: SchemaProblem[] = [];
  walk(value, schema, path, problems);
  return problems;
}

function walk(value: unknown, schema: JSONSchemaProps, path: string, out: SchemaProblem[]): void {
  const at = path || '(root)';
  if (schema['x-kubernetes-int-or-string']) {
    const t = typeOf(value);
    if (t !== 'integer' && t !== 'string') out.push({ path: at, message: `must be an integer or a string, got ${t}` });
    return;
  }
  if (schema.type && !typeMatches(schema.type, value)) {
    out.push({ path: at, message: `must be ${schema.type === 'integer' || schema.type === 'array' || schema.type === 'object' ? 'an' : 'a'} ${schema.type}, got ${typeOf(value)}` });
    return;
  }
  if (schema.enum && !schema.enum.includes(value)) {
    out.push({ path: at, message: `must be one of ${schema.enum.map((e) => JSON.stringify(e)).join(', ')}, got ${JSON.stringify(value)}` });
  }
  if (typeof value === 'number') {
    if (schema.minimum !== undefined) {
      if (schema.exclusiveMinimum ? value <= schema.minimum : value < schema.minimum) {
        out.push({ path: at, message: `must be ${schema.exclusiveMinimum ? '>' : '>='} ${schema.minimum}, got ${value}` });
      }
    }
    if (schema.maximum !== undefined) {
      if (schema.exclusiveMaximum ? value >= schema.maximum : value > schema.maximum) {
        out.push({ path: at, message: `must be ${schema.exclusiveMaximum ? '<' : '<='} ${schema.maximum}, got ${value}` });
      }
    }
  }
  if (typeof value === 'string') {
    if (schema.minLength !== undefined && value.length < schema.minLength) {
      out.push({ path: at, message: schema.minLength === 1 ? 'must not be empty' : `must be at least ${schema.minLength} characters` });
    }
    if (schema.maxLength !== undefined && value.length > schema.maxLength) {
      out.push({ path: at, message: `must be at most ${schema.maxLength} characters` });
    }
    if (schema.pattern && !new RegExp(schema.pattern).test(value)) {
      out.push({ path: at, message: `"${value}" does not match ${schema.pattern}` });
    }
    if (schema.format === 'date-time' && Number.isNaN(Date.parse(value))) {
      out.push({ path: at, message: `"${value}" is not a date-time` });
    }
  }
  if (Array.isArray(value)) {
    if (schema.minItems !== undefined && value.length < schema.minItems) {
      out.push({ path: at, message: `must have at least ${schema.minItems} item${schema.minItems === 1 ? '' : 's'}` });
    }
    if (schema.maxItems !== undefined && value.length > schema.maxItems) {
      out.push({ path: at, message: `must have at most ${schema.maxItems} items` });
    }
    if (schema.items) value.forEach((item, i) => walk(item, schema.items as JSONSchemaProps, `${path}[${i}]`, out));
  }
  if (typeOf(value) === 'object') {
    const obj = value as Record<string, unknown>;
    for (const key of schema.required ?? []) {
      if (obj[key] === undefined || obj[key] === null) out.push({ path: join2(path, key), message: 'is required' });
    }
    const props = schema.properties;
    for (const [key, child] of Object.entries(obj)) {
      const childPath = join2(path, key);
      const prop = props?.[key];
      if (prop) {
        if (child !== undefined && child !== null) walk(child, prop, childPath, out);
        continue;
      }
      if (typeof schema.additionalProperties === 'object') {
        walk(child, schema.additionalProperties, childPath, out);
      } else if (props && !schema['x-kubernetes-preserve-unknown-fields'] && schema.additionalProperties !== true) {
        out.push({ path: childPath, message: `unknown field "${key}"` });
      }
    }
  }
}
