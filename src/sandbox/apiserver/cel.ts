import { Environment } from '@marcbachmann/cel-js';
import type { Logger } from 'pino';
import { isObject, type Json } from './json.js';
import { re2ToRegExp } from './re2.js';
import { childPath, formatValue, type Schema, type ValidationRule } from './schema.js';
import type { FieldError } from './status.js';

type Program = ReturnType<Environment['parse']>;

interface Compiled {
  program: Program | null;
  message: Program | null;
  transition: boolean;
}

/**
 * Evaluates CRD `x-kubernetes-validations` with cel-js. Rules the library cannot compile or run
 * (a Kubernetes CEL extension it lacks) are logged once and skipped, so one exotic rule does not
 * turn every write into a rejection.
 */
export class CelValidator {
  private readonly env: Environment;
  private readonly cache = new Map<string, Compiled>();
  private readonly skipped = new Set<string>();

  constructor(private readonly logger?: Logger) {
    this.env = new Environment({ unlistedVariablesAreDyn: true, homogeneousAggregateLiterals: false, enableOptionalTypes: true });
    // matches() with RE2 spellings (see rewriteRules); the built-in overload cannot be replaced.
    this.env.registerFunction('string.re2Matches(string): bool', (s: string, pattern: string) => {
      const re = re2ToRegExp(pattern);
      if (!re) throw new Error(`Invalid regular expression: ${pattern}`);
      return re.test(s);
    });
  }

  private compile(rule: ValidationRule): Compiled {
    const key = `${rule.rule}\u0000${rule.messageExpression ?? ''}`;
    let c = this.cache.get(key);
    if (!c) {
      c = { program: this.parse(rule.rule), message: rule.messageExpression ? this.parse(rule.messageExpression) : null, transition: /\boldSelf\b/.test(rule.rule) };
      this.cache.set(key, c);
    }
    return c;
  }

  private parse(expr: string): Program | null {
    try {
      return this.env.parse(rewriteRule(expr));
    } catch (err) {
      this.skip(expr, err);
      return null;
    }
  }

  private skip(expr: string, err: unknown): void {
    if (this.skipped.has(expr)) return;
    this.skipped.add(expr);
    this.logger?.warn({ rule: expr, err: err instanceof Error ? err.message : String(err) }, 'CEL rule not supported by the sandbox; skipping it');
  }

  /** Walks the value alongside its schema (and the old value where it correlates) and checks every rule. */
  validate(value: Json | undefined, old: Json | undefined, schema: Schema | undefined, path: string, errors: FieldError[]): void {
    if (!schema || value === undefined || value === null) return;
    for (const rule of schema['x-kubernetes-validations'] ?? []) this.check(rule, value, old, schema, path, errors);
    if (Array.isArray(value)) {
      if (!schema.items) return;
      const oldItems = correlateList(value, old, schema);
      value.forEach((item, i) => this.validate(item, oldItems[i], schema.items, `${path}[${i}]`, errors));
      return;
    }
    if (!isObject(value)) return;
    const oldObj = isObject(old) ? old : undefined;
    for (const [key, child] of Object.entries(value)) {
      const s = schema.properties?.[key] ?? (isObject(schema.additionalProperties) ? (schema.additionalProperties as Schema) : undefined);
      if (!s || child === undefined) continue;
      const p = schema.properties?.[key] ? childPath(path, key) : `${path}[${key}]`;
      this.validate(child, oldObj?.[key], s, p, errors);
    }
  }

  private check(rule: ValidationRule, value: Json, old: Json | undefined, schema: Schema, path: string, errors: FieldError[]): void {
    const c = this.compile(rule);
    if (!c.program) return;
    if (c.transition && (old === undefined || old === null) && !rule.optionalOldSelf) return;
    const ctx: Record<string, unknown> = { self: toCel(value, schema) };
    if (c.transition) ctx['oldSelf'] = old === undefined || old === null ? null : toCel(old, schema);
    let ok: unknown;
    let evalError: string | undefined;
    try {
      ok = c.program(ctx);
    } catch (err) {
      const msg = err instanceof Error ? err.message.split('\n')[0] ?? '' : String(err);
      if (/no matching overload|unknown function|not supported/i.test(msg)) {
        this.skip(rule.rule, err);
        return;
      }
      evalError = msg;
    }
    if (ok === true) return;
    let message: string;
    if (evalError !== undefined) {
      message = `${evalError} evaluating rule: ${rule.rule}`;
    } else {
      message = rule.message ?? `failed rule: ${compactRule(rule.rule)}`;
      if (c.message) {
        try {
          const m = c.message(ctx);
          if (typeof m === 'string' && m.trim() !== '') message = m;
        } catch {
          // the real server falls back to the static message when messageExpression fails
        }
      }
    }
    const field = rule.fieldPath ? joinFieldPath(path, rule.fieldPath) : path;
    errors.push(ruleError(rule.reason, field, value, message));
  }
}

/** Index just past the string literal starting at `i` (CEL quotes, triple quotes, raw prefix). */
function skipString(src: string, i: number): number {
  let j = i;
  let raw = false;
  if (src[j] === 'r' || src[j] === 'R') {
    raw = true;
    j++;
  }
  const q = src[j] as string;
  const triple = src.startsWith(q.repeat(3), j);
  const close = triple ? q.repeat(3) : q;
  j += close.length;
  while (j < src.length) {
    if (!raw && src[j] === '\\') {
      j += 2;
      continue;
    }
    if (src.startsWith(close, j)) return j + close.length;
    j++;
  }
  return j;
}

function isStringStart(src: string, i: number): boolean {
  const c = src[i];
  if (c === '"' || c === "'") return true;
  return (c === 'r' || c === 'R') && (src[i + 1] === '"' || src[i + 1] === "'") && !/[\w.]/.test(src[i - 1] ?? '');
}

/**
 * cel-js's has() only takes a field path rooted at a variable (`has(a.b.c)`); Kubernetes rules
 * also write `has(self.matches[0].path)`. For JSON objects that is `'path' in self.matches[0]`,
 * so such calls are rewritten to that form before compiling.
 */
export function rewriteHas(src: string): string {
  let out = '';
  let i = 0;
  while (i < src.length) {
    if (isStringStart(src, i)) {
      const end = skipString(src, i);
      out += src.slice(i, end);
      i = end;
      continue;
    }
    if (src.startsWith('has(', i) && !/[\w.]/.test(src[i - 1] ?? '')) {
      let depth = 1;
      let j = i + 4;
      while (j < src.length && depth > 0) {
        if (isStringStart(src, j)) {
          j = skipString(src, j);
          continue;
        }
        if (src[j] === '(') depth++;
        else if (src[j] === ')') depth--;
        j++;
      }
      const inner = src.slice(i + 4, j - 1);
      const m = /^([\s\S]*\S)\s*\.\s*([A-Za-z_][A-Za-z0-9_]*)\s*$/.exec(inner);
      if (m && (m[1] as string).includes('[')) {
        out += `('${m[2] as string}' in (${rewriteHas(m[1] as string)}))`;
      } else {
        out += `has(${rewriteHas(inner)})`;
      }
      i = j;
      continue;
    }
    out += src[i];
    i++;
  }
  return out;
}

/** `.matches(` → `.re2Matches(` outside string literals, so patterns are read as RE2. */
export function rewriteMatches(src: string): string {
  let out = '';
  let i = 0;
  while (i < src.length) {
    if (isStringStart(src, i)) {
      const end = skipString(src, i);
      out += src.slice(i, end);
      i = end;
      continue;
    }
    const m = /^\.\s*matches\s*\(/.exec(src.slice(i, i + 40));
    if (m) {
      out += '.re2Matches(';
      i += m[0].length;
      continue;
    }
    out += src[i];
    i++;
  }
  return out;
}

/** Source rewrites that make Kubernetes CEL rules compile and behave under cel-js. */
export function rewriteRule(src: string): string {
  return rewriteMatches(rewriteHas(src));
}

function compactRule(rule: string): string {
  return rule.replace(/\s+/g, ' ').trim();
}

function joinFieldPath(path: string, fieldPath: string): string {
  const fp = fieldPath.startsWith('.') || fieldPath.startsWith('[') ? fieldPath : `.${fieldPath}`;
  return path ? `${path}${fp}` : fp.replace(/^\./, '');
}

/**
 * kube-apiserver 1.36 shows a scalar's value before the message and leaves out an object's or a
 * list's (field.OmitValueType); 1.32 wrote the schema type there (`Invalid value: "object": ...`).
 */
function shownValue(value: Json | undefined): string {
  return typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean' ? `${formatValue(value)}: ` : '';
}

function ruleError(reason: string | undefined, field: string, value: Json | undefined, message: string): FieldError {
  switch (reason) {
    case 'FieldValueForbidden':
      return { reason, field, message: `Forbidden: ${message}` };
    case 'FieldValueRequired':
      return { reason, field, message: `Required value: ${message}` };
    case 'FieldValueDuplicate':
      return { reason, field, message: `Duplicate value: ${shownValue(value)}${message}` };
    default:
      return { reason: 'FieldValueInvalid', field, message: `Invalid value: ${shownValue(value)}${message}` };
  }
}

/** Old items of a list-type=map correlate by their keys; other lists do not correlate (as in Kubernetes). */
function correlateList(value: Json[], old: Json | undefined, schema: Schema): Array<Json | undefined> {
  const keys = schema['x-kubernetes-list-map-keys'];
  if (!Array.isArray(old) || schema['x-kubernetes-list-type'] !== 'map' || !keys) return [];
  const keyOf = (item: Json): string => JSON.stringify(keys.map((k) => (isObject(item) ? item[k] ?? null : null)));
  const byKey = new Map(old.map((o) => [keyOf(o), o] as const));
  return value.map((v) => byKey.get(keyOf(v)));
}

/** JSON → CEL values: integers become bigint where the schema says integer, as CEL's int type. */
export function toCel(value: Json | undefined, schema: Schema | undefined): unknown {
  if (value === undefined || value === null) return null;
  if (typeof value === 'number') {
    const t = schema?.type;
    if (t === 'number') return value;
    if (Number.isInteger(value)) return BigInt(value);
    return value;
  }
  // Array.from builds the array in this realm even when the input came from another one.
  if (Array.isArray(value)) return Array.from(value, (v) => toCel(v, schema?.items));
  if (isObject(value)) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      if (v === undefined) continue;
      const s = schema?.properties?.[k] ?? (isObject(schema?.additionalProperties) ? (schema?.additionalProperties as Schema) : undefined);
      out[k] = toCel(v, s);
    }
    return out;
  }
  return value;
}
