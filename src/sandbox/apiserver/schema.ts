import { clone, deepEqual, isObject, type Json, type JsonObject } from './json.js';
import { re2ToRegExp } from './re2.js';
import type { FieldError } from './status.js';

/** A structural OpenAPI v3 schema as CRDs carry it (the subset the real server enforces). */
export interface Schema {
  type?: string;
  description?: string;
  properties?: Record<string, Schema>;
  additionalProperties?: Schema | boolean;
  items?: Schema;
  required?: string[];
  enum?: Json[];
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: boolean;
  exclusiveMaximum?: boolean;
  multipleOf?: number;
  minLength?: number;
  maxLength?: number;
  pattern?: string;
  minItems?: number;
  maxItems?: number;
  uniqueItems?: boolean;
  minProperties?: number;
  maxProperties?: number;
  format?: string;
  nullable?: boolean;
  default?: Json;
  allOf?: Schema[];
  anyOf?: Schema[];
  oneOf?: Schema[];
  not?: Schema;
  'x-kubernetes-int-or-string'?: boolean;
  'x-kubernetes-preserve-unknown-fields'?: boolean;
  'x-kubernetes-embedded-resource'?: boolean;
  'x-kubernetes-list-type'?: 'atomic' | 'set' | 'map';
  'x-kubernetes-list-map-keys'?: string[];
  'x-kubernetes-map-type'?: string;
  'x-kubernetes-validations'?: ValidationRule[];
}

export interface ValidationRule {
  rule: string;
  message?: string;
  messageExpression?: string;
  reason?: string;
  fieldPath?: string;
  optionalOldSelf?: boolean;
}

/** ObjectMeta fields a client may send; anything else under metadata is dropped, as the real decoder does. */
const OBJECT_META_FIELDS = new Set([
  'name',
  'generateName',
  'namespace',
  'selfLink',
  'uid',
  'resourceVersion',
  'generation',
  'creationTimestamp',
  'deletionTimestamp',
  'deletionGracePeriodSeconds',
  'labels',
  'annotations',
  'ownerReferences',
  'finalizers',
  'managedFields',
]);

/** Drops unknown ObjectMeta fields, returning their names. */
export function pruneObjectMeta(metadata: JsonObject): string[] {
  const dropped = Object.keys(metadata).filter((k) => !OBJECT_META_FIELDS.has(k));
  for (const k of dropped) delete metadata[k];
  return dropped;
}

export function childPath(path: string, key: string): string {
  return path ? `${path}.${key}` : key;
}

function propertySchema(schema: Schema, key: string): Schema | undefined {
  if (schema.properties && Object.prototype.hasOwnProperty.call(schema.properties, key)) return schema.properties[key];
  if (isObject(schema.additionalProperties)) return schema.additionalProperties as Schema;
  return undefined;
}

function keepsUnknown(schema: Schema): boolean {
  return schema['x-kubernetes-preserve-unknown-fields'] === true || schema.additionalProperties === true;
}

/**
 * Drops fields the schema does not know (returning their paths, for strict field validation),
 * drops nulls of non-nullable fields, then fills `default`s, recursively. Mutates `value`.
 * `root` marks the top of a resource, where apiVersion/kind/metadata are always allowed.
 */
export function pruneAndDefault(value: Json | undefined, schema: Schema | undefined, path: string, unknown: string[], root = false): void {
  if (!schema || value === undefined || value === null) return;
  if (Array.isArray(value)) {
    if (schema.items) for (let i = 0; i < value.length; i++) pruneAndDefault(value[i], schema.items, `${path}[${i}]`, unknown);
    return;
  }
  if (!isObject(value)) return;
  const embedded = root || schema['x-kubernetes-embedded-resource'] === true;
  const isObjectSchema = schema.type === 'object' || schema.properties !== undefined || schema.additionalProperties !== undefined || embedded;
  if (!isObjectSchema && !keepsUnknown(schema)) return;
  for (const key of Object.keys(value)) {
    if (embedded && (key === 'apiVersion' || key === 'kind')) continue;
    if (embedded && key === 'metadata') {
      const m = value[key];
      if (isObject(m)) for (const k of pruneObjectMeta(m)) unknown.push(`${childPath(path, 'metadata')}.${k}`);
      continue;
    }
    const child = propertySchema(schema, key);
    if (!child) {
      if (!keepsUnknown(schema)) {
        unknown.push(childPath(path, key));
        delete value[key];
      }
      continue;
    }
    if (value[key] === null && child.nullable !== true) delete value[key];
  }
  if (schema.properties) {
    for (const [key, child] of Object.entries(schema.properties)) {
      if (value[key] === undefined && child.default !== undefined) value[key] = clone(child.default);
    }
  }
  for (const key of Object.keys(value)) {
    if (embedded && (key === 'apiVersion' || key === 'kind' || key === 'metadata')) continue;
    pruneAndDefault(value[key], propertySchema(schema, key), childPath(path, key), unknown);
  }
}

function typeName(v: Json): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  return typeof v;
}

/** Go's %v for the values the validator prints (strings quoted, as field.Invalid does with %q). */
export function formatValue(v: Json | undefined): string {
  if (v === undefined || v === null) return 'null';
  if (typeof v === 'string') return JSON.stringify(v);
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return JSON.stringify(v);
}

function invalidErr(field: string, value: Json | undefined, detail: string): FieldError {
  return { reason: 'FieldValueInvalid', field, message: `Invalid value: ${formatValue(value)}: ${detail}` };
}

function matchesType(v: Json, type: string): boolean {
  switch (type) {
    case 'object':
      return isObject(v);
    case 'array':
      return Array.isArray(v);
    case 'string':
      return typeof v === 'string';
    case 'integer':
      return typeof v === 'number' && Number.isInteger(v);
    case 'number':
      return typeof v === 'number';
    case 'boolean':
      return typeof v === 'boolean';
    default:
      return true;
  }
}

const FORMAT_CHECKS: Record<string, (s: string) => boolean> = {
  // Lenient like the server's strfmt: RFC 3339 with optional fraction and any offset.
  'date-time': (s) => /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:?\d{2})?$/.test(s) && !Number.isNaN(Date.parse(s.replace(' ', 'T'))),
  date: (s) => /^\d{4}-\d{2}-\d{2}$/.test(s),
  uuid: (s) => /^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i.test(s),
  ipv4: (s) => /^(\d{1,3})(\.\d{1,3}){3}$/.test(s) && s.split('.').every((p) => Number(p) <= 255),
  byte: (s) => /^[A-Za-z0-9+/]*={0,2}$/.test(s) && s.length % 4 === 0,
};

/** Value validation of one node (not CEL). Errors use the real server's wording. */
export function validateSchema(value: Json | undefined, schema: Schema | undefined, path: string, errors: FieldError[], root = false): void {
  if (!schema || value === undefined) return;
  if (value === null) {
    if (schema.nullable === true) return;
    if (schema.type) {
      errors.push({
        reason: 'FieldValueTypeInvalid',
        field: path,
        message: `Invalid value: "null": ${path} in body must be of type ${schema.type}: "null"`,
      });
    }
    return;
  }
  if (schema['x-kubernetes-int-or-string']) {
    if (!(typeof value === 'string' || (typeof value === 'number' && Number.isInteger(value)))) {
      errors.push({
        reason: 'FieldValueTypeInvalid',
        field: path,
        message: `Invalid value: "${typeName(value)}": ${path} in body must be of type integer,string: "${typeName(value)}"`,
      });
      return;
    }
  } else if (schema.type && !matchesType(value, schema.type)) {
    errors.push({
      reason: 'FieldValueTypeInvalid',
      field: path,
      message: `Invalid value: "${typeName(value)}": ${path} in body must be of type ${schema.type}: "${typeName(value)}"`,
    });
    return;
  }
  if (schema.enum && !schema.enum.some((e) => deepEqual(e, value))) {
    errors.push({
      reason: 'FieldValueNotSupported',
      field: path,
      message: `Unsupported value: ${formatValue(value)}: supported values: ${schema.enum.map((e) => formatValue(e)).join(', ')}`,
    });
  }
  if (typeof value === 'string') validateString(value, schema, path, errors);
  else if (typeof value === 'number') validateNumber(value, schema, path, errors);
  else if (Array.isArray(value)) validateArray(value, schema, path, errors);
  else if (isObject(value)) validateObject(value, schema, path, errors, root);
  validateCombinators(value, schema, path, errors);
}

function validateString(value: string, schema: Schema, path: string, errors: FieldError[]): void {
  if (schema.maxLength !== undefined && [...value].length > schema.maxLength) {
    errors.push({
      reason: 'FieldValueTooLong',
      field: path,
      message: `Too long: may not be more than ${schema.maxLength} ${schema.maxLength === 1 ? 'byte' : 'bytes'}`,
    });
  }
  if (schema.minLength !== undefined && [...value].length < schema.minLength) {
    errors.push(invalidErr(path, value, `${path} in body should be at least ${schema.minLength} chars long`));
  }
  if (schema.pattern !== undefined) {
    const re = re2ToRegExp(schema.pattern);
    if (re && !re.test(value)) errors.push(invalidErr(path, value, `${path} in body should match '${schema.pattern}'`));
  }
  const check = schema.format ? FORMAT_CHECKS[schema.format] : undefined;
  if (check && !check(value)) {
    errors.push(invalidErr(path, value, `${path} in body must be of type ${schema.format}: ${formatValue(value)}`));
  }
}

function validateNumber(value: number, schema: Schema, path: string, errors: FieldError[]): void {
  if (schema.maximum !== undefined) {
    if (schema.exclusiveMaximum ? value >= schema.maximum : value > schema.maximum) {
      errors.push(invalidErr(path, value, `${path} in body should be less than ${schema.exclusiveMaximum ? '' : 'or equal to '}${schema.maximum}`));
    }
  }
  if (schema.minimum !== undefined) {
    if (schema.exclusiveMinimum ? value <= schema.minimum : value < schema.minimum) {
      errors.push(invalidErr(path, value, `${path} in body should be greater than ${schema.exclusiveMinimum ? '' : 'or equal to '}${schema.minimum}`));
    }
  }
  if (schema.multipleOf !== undefined && schema.multipleOf > 0) {
    const q = value / schema.multipleOf;
    if (Math.abs(q - Math.round(q)) > 1e-9) errors.push(invalidErr(path, value, `${path} in body should be a multiple of ${schema.multipleOf}`));
  }
}

function listMapKey(item: Json, keys: string[]): string {
  const o = isObject(item) ? item : {};
  return JSON.stringify(keys.map((k) => o[k] ?? null));
}

function validateArray(value: Json[], schema: Schema, path: string, errors: FieldError[]): void {
  if (schema.maxItems !== undefined && value.length > schema.maxItems) {
    errors.push({ reason: 'FieldValueTooMany', field: path, message: `Too many: ${value.length}: must have at most ${schema.maxItems} items` });
  }
  if (schema.minItems !== undefined && value.length < schema.minItems) {
    errors.push(invalidErr(path, value.length, `${path} in body should have at least ${schema.minItems} items`));
  }
  const listType = schema['x-kubernetes-list-type'];
  if (schema.uniqueItems || listType === 'set') {
    const seen = new Set<string>();
    value.forEach((item, i) => {
      const k = JSON.stringify(item);
      if (seen.has(k)) errors.push({ reason: 'FieldValueDuplicate', field: `${path}[${i}]`, message: `Duplicate value: ${formatValue(item)}` });
      seen.add(k);
    });
  } else if (listType === 'map' && schema['x-kubernetes-list-map-keys']) {
    const keys = schema['x-kubernetes-list-map-keys'];
    const seen = new Set<string>();
    value.forEach((item, i) => {
      const k = listMapKey(item, keys);
      if (seen.has(k)) {
        const o = isObject(item) ? item : {};
        const shown: JsonObject = {};
        for (const key of keys) shown[key] = o[key] ?? null;
        errors.push({ reason: 'FieldValueDuplicate', field: `${path}[${i}]`, message: `Duplicate value: ${JSON.stringify(shown)}` });
      }
      seen.add(k);
    });
  }
  if (schema.items) for (let i = 0; i < value.length; i++) validateSchema(value[i], schema.items, `${path}[${i}]`, errors);
}

function validateObject(value: JsonObject, schema: Schema, path: string, errors: FieldError[], root: boolean): void {
  for (const req of schema.required ?? []) {
    if (value[req] === undefined) errors.push({ reason: 'FieldValueRequired', field: childPath(path, req), message: 'Required value' });
  }
  const n = Object.keys(value).length;
  if (schema.maxProperties !== undefined && n > schema.maxProperties) {
    errors.push({ reason: 'FieldValueTooMany', field: path, message: `Too many: ${n}: must have at most ${schema.maxProperties} items` });
  }
  if (schema.minProperties !== undefined && n < schema.minProperties) {
    errors.push(invalidErr(path, n, `${path} in body should have at least ${schema.minProperties} properties`));
  }
  const embedded = root || schema['x-kubernetes-embedded-resource'] === true;
  for (const [key, child] of Object.entries(value)) {
    if (embedded && key === 'metadata') continue;
    const s = propertySchema(schema, key);
    if (s) validateSchema(child, s, childPath(path, key), errors);
  }
}

/** allOf/anyOf/oneOf/not carry value validations only (structural schemas forbid types there). */
function validateCombinators(value: Json, schema: Schema, path: string, errors: FieldError[]): void {
  const passes = (s: Schema): boolean => {
    const e: FieldError[] = [];
    validateSchema(value, { ...s, type: s.type }, path, e);
    return e.length === 0;
  };
  for (const s of schema.allOf ?? []) validateSchema(value, s, path, errors);
  if (schema.anyOf && !schema.anyOf.some(passes)) {
    errors.push(invalidErr(path, value, `${path} in body must validate at least one schema (anyOf)`));
  }
  if (schema.oneOf) {
    const count = schema.oneOf.filter(passes).length;
    if (count !== 1) {
      errors.push(
        invalidErr(
          path,
          value,
          count === 0 ? `${path} in body must validate one and only one schema (oneOf)` : `${path} in body must validate one and only one schema (oneOf). Found ${count} valid alternatives`,
        ),
      );
    }
  }
  if (schema.not && passes(schema.not)) errors.push(invalidErr(path, value, `${path} in body must not validate the schema (not)`));
}

/** The schema of `status` inside a resource schema, used for status subresource writes. */
export function statusSchema(schema: Schema): Schema | undefined {
  return schema.properties?.['status'];
}
