import { parser } from '@prometheus-io/lezer-promql';
import type { SyntaxNode } from '@lezer/common';
import type { Canary, MeshProvider } from '../api/canary.js';
import { RouteshiftError } from '../core/errors.js';
import { lineColumn } from './template.js';
import type { Position } from './promql.js';
import { resolveMetric, type SideQueries, type TemplateSet } from './templates.js';

/**
 * PromQL tenancy (config `prometheus.enforceNamespaceLabel`), as prom-label-proxy does it: every vector
 * selector of a Canary's query gets a `<label>="<namespace>"` matcher, on the parsed query, so a Canary
 * reads only its own namespace's series. Matchers are ANDed, so an added one can only narrow a selection.
 */

/** A query the enforced label cannot be added to safely; `position` points into the rendered query. */
export class QueryNotEnforceableError extends RouteshiftError {
  readonly position: Position;
  constructor(message: string, position: Position, path?: string) {
    super('QueryNotEnforceable', `${message} (line ${position.line}, column ${position.column})`, path ? { path } : undefined);
    this.position = position;
  }
}

/** Functions that read series the selector does not name (info() joins target_info implicitly). */
const IMPLICIT_SELECTORS = new Set(['info']);

function unquote(literal: string): string {
  const q = literal[0];
  const body = literal.slice(1, -1);
  if (q === '`') return body;
  // Prometheus strings use Go escapes; JSON covers the ones a label value can hold.
  try {
    return q === '"' ? (JSON.parse(literal) as string) : (JSON.parse(`"${body.replace(/\\'/g, "'").replace(/"/g, '\\"')}"`) as string);
  } catch {
    return body;
  }
}

interface Matcher {
  name: string;
  op: string;
  value: string;
  from: number;
}

function matchersOf(selector: SyntaxNode, query: string): Matcher[] {
  const list = selector.getChild('LabelMatchers');
  const out: Matcher[] = [];
  for (let m = list?.firstChild ?? null; m; m = m.nextSibling) {
    if (m.name !== 'UnquotedLabelMatcher' && m.name !== 'QuotedLabelMatcher') continue;
    const nameNode = m.getChild('LabelName') ?? m.getChild('QuotedLabelName');
    const op = m.getChild('MatchOp');
    const value = op?.nextSibling;
    if (!nameNode || !op || !value) continue; // a bare quoted metric name: no label to compare
    const rawName = query.slice(nameNode.from, nameNode.to);
    out.push({ name: nameNode.name === 'LabelName' ? rawName : unquote(rawName), op: query.slice(op.from, op.to), value: unquote(query.slice(value.from, value.to)), from: m.from });
  }
  return out;
}

/** Where to insert the matcher into one selector, or undefined when it already holds it. */
function insertion(selector: SyntaxNode, query: string, label: string, value: string, matcher: string): [number, string] | undefined {
  const existing = matchersOf(selector, query).filter((m) => m.name === label);
  const conflict = existing.find((m) => m.op === '=' && m.value !== value);
  if (conflict) {
    throw new QueryNotEnforceableError(`the selector asks for ${label}="${conflict.value}", but this Canary may read only ${label}="${value}"`, lineColumn(query, conflict.from));
  }
  if (existing.some((m) => m.op === '=' && m.value === value)) return undefined;
  const list = selector.getChild('LabelMatchers');
  if (!list) return [selector.to, `{${matcher}}`];
  const close = list.to - 1; // the "}"
  const before = query.slice(list.from + 1, close).trimEnd();
  return [close, before === '' || before.endsWith(',') ? matcher : `,${matcher}`];
}

/**
 * `query` with `label="value"` in every vector selector. Throws QueryNotEnforceableError, with the
 * position, for a query that does not parse, uses a function reading other series, or selects another value.
 */
export function enforceLabel(query: string, label: string, value: string): string {
  const matcher = `${label}=${JSON.stringify(value)}`;
  const tree = parser.parse(query);
  const edits: Array<[number, string]> = [];
  let problem: QueryNotEnforceableError | undefined;
  tree.iterate({
    enter(ref) {
      if (problem) return false;
      if (ref.type.isError) {
        problem = new QueryNotEnforceableError('the query does not parse, so its selectors cannot be found', lineColumn(query, Math.min(ref.from, query.length)));
        return false;
      }
      if (ref.name === 'FunctionIdentifier' && IMPLICIT_SELECTORS.has(query.slice(ref.from, ref.to))) {
        problem = new QueryNotEnforceableError(`${query.slice(ref.from, ref.to)}() reads series its selectors do not name`, lineColumn(query, ref.from));
        return false;
      }
      if (ref.name !== 'VectorSelector') return undefined;
      try {
        const edit = insertion(ref.node, query, label, value, matcher);
        if (edit) edits.push(edit);
      } catch (err) {
        problem = err as QueryNotEnforceableError;
      }
      return false;
    },
  });
  if (problem) throw problem;
  let out = query;
  for (const [at, text] of edits.sort((a, b) => b[0] - a[0])) out = out.slice(0, at) + text + out.slice(at);
  return out;
}

/**
 * The namespace each side's queries are held to: its Service's. A side outside the Canary's namespace
 * is only measured once a ReferenceGrant there allows the Canary (src/controller/reference-grants.ts).
 */
export function sideNamespaces(canary: Canary): { canary: string; stable: string } {
  const home = canary.metadata.namespace ?? 'default';
  const routeNs = canary.spec.routeRef.namespace ?? home;
  return { canary: canary.spec.canary.namespace ?? routeNs, stable: canary.spec.stable.namespace ?? routeNs };
}

const QUERY_FIELDS = ['query', 'requestsQuery', 'totalQuery', 'badQuery'] as const;

/** Every query of `canary` that enforcement would refuse, with the metric's path (checked with the spec). */
export function enforcementProblems(canary: Canary, templates: TemplateSet, defaultProvider: MeshProvider, label: string): Array<{ path: string; message: string }> {
  const problems: Array<{ path: string; message: string }> = [];
  const namespaces = sideNamespaces(canary);
  (canary.spec.analysis.metrics ?? []).forEach((_, i) => {
    let resolved;
    try {
      resolved = resolveMetric(canary, i, defaultProvider, templates, { offline: true });
    } catch {
      return; // reported by validation already
    }
    const sides: Array<['canary' | 'stable', SideQueries]> = [['canary', resolved.canary], ['stable', resolved.stable]];
    for (const [which, side] of sides) {
      for (const field of QUERY_FIELDS) {
        const q = side[field];
        if (!q) continue;
        try {
          enforceLabel(q, label, namespaces[which]);
        } catch (err) {
          const path = `${resolved.path}.${field}`;
          const message = `cannot enforce ${label}="${namespaces[which]}" on the ${which} query "${q}": ${(err as Error).message}`;
          if (!problems.some((p) => p.path === path)) problems.push({ path, message });
        }
      }
    }
  });
  return problems;
}
