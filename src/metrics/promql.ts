import { parser } from '@prometheus-io/lezer-promql';
import type { SyntaxNode } from '@lezer/common';
import { BUILTIN_VARIABLES, lineColumn, placeholders, renderWithMap, type TemplateError, toTemplateOffset } from './template.js';
import { createHash } from 'node:crypto';
import { LruMap } from '../core/lru.js';

/**
 * Offline PromQL checks with Prometheus' own lezer grammar. The grammar catches syntax errors and
 * unknown functions; we add the one type error templates get wrong most: a range function (rate,
 * increase, *_over_time) given an instant vector, i.e. a forgotten `[{{ interval }}]`.
 */

export interface Position {
  /** 1-based. */
  line: number;
  /** 1-based. */
  column: number;
  /** 0-based character offset. */
  offset: number;
}

export type PromQLValidation = { ok: true } | { ok: false; message: string; position: Position };

const RANGE_FUNCTIONS = new Set([
  'rate',
  'irate',
  'increase',
  'delta',
  'idelta',
  'deriv',
  'resets',
  'changes',
  'predict_linear',
  'holt_winters',
  'double_exponential_smoothing',
  'avg_over_time',
  'min_over_time',
  'max_over_time',
  'sum_over_time',
  'count_over_time',
  'quantile_over_time',
  'stddev_over_time',
  'stdvar_over_time',
  'last_over_time',
  'present_over_time',
  'absent_over_time',
  'mad_over_time',
]);

function describeAt(query: string, offset: number): string {
  if (offset >= query.trimEnd().length) return 'unexpected end of query';
  const rest = query.slice(offset);
  const token = /^\s*(\S{1,20})/.exec(rest)?.[1] ?? rest.slice(0, 1);
  // `foo(x)`: the grammar knows every function, so an identifier followed by "(" is an unknown one.
  const before = /([A-Za-z_:][A-Za-z0-9_:]*)\s*$/.exec(query.slice(0, offset));
  if (before && rest.trimStart().startsWith('(')) return `unknown function "${before[1]}"`;
  return `unexpected "${token}"`;
}

/**
 * Distinct query texts remembered. A controller renders more than one per metric and canary (validation and
 * measuring each render theirs): at 5,000 canaries with 2 metrics 16,384 was too few, and the LRU, cycled
 * in tick order, missed on every lookup (PromQL validation on the tick path was about a tenth of the profile, the lezer parser alone 3.6%; docs/benchmarks.md).
 */
const PARSE_CACHE_SIZE = 65_536;
const parsed = new LruMap<string, PromQLValidation>(PARSE_CACHE_SIZE);
const VALID: PromQLValidation = Object.freeze({ ok: true });

/**
 * Validates a query's text: syntax, range arguments, and a result that is not a range vector or string.
 * Every tick renders and checks each query again; the answer depends only on the text, so it is
 * remembered (parsing was a twentieth of the controller's CPU at a thousand canaries).
 */
export function validatePromQL(query: string): PromQLValidation {
  // Keyed by a digest, not the text: 12,000 rendered queries of 300-400 characters were 4.5 MiB of a
  // 3,000-canary controller's heap, kept for nothing else.
  const key = query.length > 40 ? createHash('sha256').update(query).digest('base64') : query;
  return parsed.getOrSet(key, () => {
    const v = checkPromQL(query);
    return v.ok ? VALID : Object.freeze(v);
  });
}


/** Parses `query`; on failure reports the first problem with its line and column. */
function checkPromQL(query: string): PromQLValidation {
  if (!query.trim()) return { ok: false, message: 'empty query', position: lineColumn(query, 0) };
  const tree = parser.parse(query);
  let firstError: number | undefined;
  let typeError: { message: string; offset: number } | undefined;
  tree.iterate({
    enter(node) {
      if (node.type.isError) {
        if (firstError === undefined || node.from < firstError) firstError = node.from;
        return false;
      }
      if (node.name === 'FunctionCall' && !typeError) {
        const problem = rangeArgumentProblem(node.node, query);
        if (problem) typeError = problem;
      }
      return undefined;
    },
  });
  if (firstError !== undefined) {
    // "Unexpected end" is reported where the text ends, not after trailing newlines.
    const at = Math.min(firstError, query.trimEnd().length);
    return { ok: false, message: `PromQL syntax error: ${describeAt(query, firstError)}`, position: lineColumn(query, at) };
  }
  if (typeError) return { ok: false, message: typeError.message, position: lineColumn(query, typeError.offset) };
  const top = tree.topNode.firstChild;
  if (top && isRange(top)) {
    return {
      ok: false,
      message: 'the query returns a range vector; wrap it in a function such as rate() or increase()',
      position: lineColumn(query, top.from),
    };
  }
  if (top && isString(top)) {
    // Valid PromQL, but a string is no measurement: Prometheus answers resultType "string" at every tick.
    return { ok: false, message: 'the query returns a string, not a number', position: lineColumn(query, top.from) };
  }
  return { ok: true };
}

function isString(node: SyntaxNode | null): boolean {
  if (!node) return false;
  return node.name === 'StringLiteral' || (node.name === 'ParenExpr' && isString(node.firstChild));
}

/** A range vector, possibly under `offset`, `@` or parentheses. */
function isRange(node: SyntaxNode | null): boolean {
  if (!node) return false;
  if (node.name === 'MatrixSelector' || node.name === 'SubqueryExpr') return true;
  if (node.name === 'OffsetExpr' || node.name === 'StepInvariantExpr' || node.name === 'ParenExpr') return isRange(node.firstChild);
  return false;
}

function rangeArgumentProblem(call: SyntaxNode, query: string): { message: string; offset: number } | undefined {
  const ident = call.getChild('FunctionIdentifier');
  const body = call.getChild('FunctionCallBody');
  if (!ident || !body) return undefined;
  const name = query.slice(ident.from, ident.to);
  if (!RANGE_FUNCTIONS.has(name)) return undefined;
  // predict_linear/quantile_over_time take the range vector second or first; check any argument is a range.
  let arg = body.firstChild;
  while (arg) {
    if (isRange(arg)) return undefined;
    arg = arg.nextSibling;
  }
  return { message: `${name}() needs a range vector: add a window such as [{{ interval }}]`, offset: ident.from };
}

export interface TemplateQueryCheck {
  /** Values for variables; unset known variables get a stand-in that parses in their position. */
  vars?: Readonly<Record<string, string | undefined>>;
  /** Accept any variable name (a MetricTemplate alone cannot know the Canary's templateVariables). */
  allowUnknown?: boolean;
  /** Template name for messages. */
  name?: string;
  path?: string;
}

export type TemplateValidation =
  | { ok: true; rendered: string }
  | { ok: false; code: string; message: string; position?: Position; variable?: string };

/** Where a placeholder sits decides what stands in for it: a string, a duration or a number. */
function standIn(template: string, at: number): string {
  let quote: string | undefined;
  let bracket = 0;
  for (let i = 0; i < at; i++) {
    const ch = template[i] as string;
    if (quote) {
      if (ch === '\\' && quote !== '`') i++;
      else if (ch === quote) quote = undefined;
    } else if (ch === '"' || ch === "'" || ch === '`') quote = ch;
    else if (ch === '[') bracket++;
    else if (ch === ']') bracket = Math.max(0, bracket - 1);
  }
  if (quote) return 'x';
  if (bracket > 0 || /offset\s*$/i.test(template.slice(0, at))) return '1m';
  return '1';
}

/**
 * Checks a `{{ }}` template: placeholders well formed, variables known (unless allowUnknown), and the
 * query parses once placeholders are substituted. Positions point into the template, not the rendering.
 */
export function validateTemplateQuery(template: string, check: TemplateQueryCheck = {}): TemplateValidation {
  const vars = check.vars ?? {};
  let found;
  try {
    found = placeholders(template, { ...(check.name ? { name: check.name } : {}) });
  } catch (err) {
    return { ok: false, code: (err as TemplateError).code, message: (err as TemplateError).message };
  }
  const values: Record<string, string> = {};
  for (const p of found) {
    const known = Object.hasOwn(vars, p.name) || (BUILTIN_VARIABLES as readonly string[]).includes(p.name);
    if (!known && !check.allowUnknown) {
      return {
        ok: false,
        code: 'UnknownTemplateVariable',
        message: `unknown variable "${p.name}"${check.name ? ` in ${check.name}` : ''} (add it to templateVariables)`,
        position: lineColumn(template, p.start),
        variable: p.name,
      };
    }
    const given = vars[p.name];
    // One stand-in per name; placeholders of one name in different positions share it, which is fine for parsing.
    values[p.name] ??= given ?? standIn(template, p.start);
  }
  const rendered = renderWithMap(template, values);
  const result = validatePromQL(rendered.text);
  if (result.ok) return { ok: true, rendered: rendered.text };
  const offset = toTemplateOffset(rendered, result.position.offset);
  return { ok: false, code: 'InvalidPromQL', message: result.message, position: lineColumn(template, offset) };
}
