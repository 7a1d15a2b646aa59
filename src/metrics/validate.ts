import { parseAllDocuments } from 'yaml';
import {
  API_VERSION,
  CANARY_KIND,
  METRIC_TEMPLATE_KIND,
  type Canary,
  type MeshProvider,
  type MetricTemplate,
} from '../api/canary.js';
import { checkSchema, crdSchema } from '../api/validate-schema.js';
import { parseDuration } from '../core/duration.js';
import { validateTemplateQuery } from './promql.js';
import { metricProblems, type TemplateSet } from './templates.js';

/**
 * Offline validation of Canaries and MetricTemplates: what `routeshift validate -f` prints and what
 * the controller checks before acting on a Canary. Every problem is returned, not just the first,
 * so one edit-validate round fixes them all.
 *
 * Step rules (documented in analysis/examples/thresholds.yaml):
 * - stepWeights: integers 1..100, strictly ascending; maxWeight must not be set with them.
 * - stepWeight: maxWeight defaults to 50 (the canary never takes more than half before promotion);
 *   stepWeight must not exceed maxWeight.
 * - exactly one of stepWeights / stepWeight.
 */

export interface Problem {
  /** Dotted spec path, e.g. spec.analysis.metrics[1].query; empty for the whole document. */
  path: string;
  message: string;
  /** 1-based document number in a multi-document file (validateDocuments only). */
  document?: number;
  /** Kind/name of the object, when known. */
  object?: string;
}

export interface ValidateOptions {
  /** Mesh of Canaries without spec.provider. Default istio. */
  defaultProvider?: MeshProvider;
}

export const DEFAULT_MAX_WEIGHT = 50;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

function checkHeader(obj: Record<string, unknown>, kind: string): Problem[] {
  const out: Problem[] = [];
  if (obj.apiVersion !== API_VERSION) out.push({ path: 'apiVersion', message: `must be ${API_VERSION}, got ${JSON.stringify(obj.apiVersion)}` });
  if (obj.kind !== kind) out.push({ path: 'kind', message: `must be ${kind}, got ${JSON.stringify(obj.kind)}` });
  const meta = obj.metadata;
  if (!isObject(meta) || typeof meta.name !== 'string' || !meta.name) {
    out.push({ path: 'metadata.name', message: 'is required' });
  } else if (!/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(meta.name) || meta.name.length > 253) {
    out.push({ path: 'metadata.name', message: `"${meta.name}" is not a valid Kubernetes name (lowercase letters, digits, "-" and ".")` });
  }
  return out;
}

function rangeProblems(range: unknown, path: string, what: string): Problem[] {
  if (!isObject(range)) return [];
  const { min, max } = range;
  if (min === undefined && max === undefined) return [{ path, message: `${what} needs min, max or both` }];
  if (isNumber(min) && isNumber(max) && min > max) return [{ path, message: `${what} min (${min}) is greater than max (${max})` }];
  return [];
}

function stepProblems(analysis: Record<string, unknown>): Problem[] {
  const out: Problem[] = [];
  const { stepWeights, stepWeight, maxWeight } = analysis;
  const hasList = stepWeights !== undefined;
  const hasStep = stepWeight !== undefined;
  if (hasList && hasStep) {
    out.push({ path: 'spec.analysis.stepWeight', message: 'set either stepWeights or stepWeight, not both' });
  } else if (!hasList && !hasStep && analysis.matchRule === undefined && analysis.match === undefined) {
    // An A/B test (matchRule or match) has iterations instead of weight steps.
    out.push({ path: 'spec.analysis', message: 'set stepWeights (e.g. [5, 10, 25, 50]) or stepWeight (with maxWeight, default 50)' });
  }
  if (Array.isArray(stepWeights)) {
    stepWeights.forEach((w, i) => {
      const prev = stepWeights[i - 1];
      if (i > 0 && isNumber(w) && isNumber(prev) && w <= prev) {
        out.push({ path: `spec.analysis.stepWeights[${i}]`, message: `steps must ascend: ${w} is not above the previous step ${prev}` });
      }
    });
    if (maxWeight !== undefined) {
      out.push({ path: 'spec.analysis.maxWeight', message: 'maxWeight applies to stepWeight only; with stepWeights the last step is the maximum' });
    }
  }
  if (!hasList && isNumber(stepWeight)) {
    const max = isNumber(maxWeight) ? maxWeight : DEFAULT_MAX_WEIGHT;
    if (stepWeight > max) {
      out.push({
        path: 'spec.analysis.stepWeight',
        message: `stepWeight ${stepWeight} exceeds maxWeight ${max}${isNumber(maxWeight) ? '' : ' (the default)'}`,
      });
    }
  }
  return out;
}

function metricSpecProblems(metrics: unknown[], analysisInterval: unknown): Problem[] {
  const out: Problem[] = [];
  const seen = new Map<string, number>();
  metrics.forEach((m, i) => {
    if (!isObject(m)) return;
    const path = `spec.analysis.metrics[${i}]`;
    if (typeof m.name === 'string') {
      const first = seen.get(m.name);
      if (first !== undefined) out.push({ path: `${path}.name`, message: `duplicate metric name "${m.name}" (also metrics[${first}])` });
      else seen.set(m.name, i);
    }
    out.push(...rangeProblems(m.thresholdRange, `${path}.thresholdRange`, 'thresholdRange'));
    out.push(...rangeProblems(m.relative, `${path}.relative`, 'relative'));
    if (m.thresholdRange === undefined && m.relative === undefined && m.mode !== 'sequential') {
      out.push({ path, message: 'nothing to check: set thresholdRange, relative, or mode: sequential' });
    }
    const window = m.mode === 'sequential' ? sequentialWindowProblem(m.interval, analysisInterval, path) : undefined;
    if (window) out.push(window);
  });
  return out;
}

function durationMs(v: unknown): number | undefined {
  if (typeof v !== 'string') return undefined;
  try {
    return parseDuration(v);
  } catch {
    return undefined; // reported by the schema or by template resolution
  }
}

/**
 * The sequential test adds up one `increase(...[window])` per tick, and ticks come one analysis interval
 * apart: a longer window counts requests twice (a 1m window every 10s counts each request six times, and the
 * test would see evidence that is not there); a shorter one drops requests. So the window is the interval.
 */
function sequentialWindowProblem(interval: unknown, analysisInterval: unknown, path: string): Problem | undefined {
  const own = durationMs(interval);
  const analysis = durationMs(analysisInterval);
  if (own === undefined || analysis === undefined || own === analysis) return undefined;
  return {
    path: `${path}.interval`,
    message:
      `a sequential metric counts the requests of each analysis interval once: its window must be the analysis interval ` +
      `(${String(analysisInterval)}), not ${String(interval)}; remove interval`,
  };
}

/** Every problem of one Canary object. */
export function validateCanary(obj: unknown, templates: TemplateSet, opts: ValidateOptions = {}): Problem[] {
  if (!isObject(obj)) return [{ path: '', message: 'a Canary must be a mapping' }];
  const schemaProblems = checkSchema(obj, crdSchema('Canary'));
  const problems: Problem[] = [...checkHeader(obj, CANARY_KIND), ...schemaProblems];
  const spec = obj.spec;
  if (!isObject(spec)) return problems;
  const { stable, canary } = spec;
  if (isObject(stable) && isObject(canary) && stable.name === canary.name && stable.namespace === canary.namespace) {
    problems.push({ path: 'spec.canary.name', message: `the canary Service must differ from the stable one ("${String(canary.name)}")` });
  }
  const analysis = spec.analysis;
  if (!isObject(analysis)) return problems;
  problems.push(...stepProblems(analysis));
  const metrics = Array.isArray(analysis.metrics) ? analysis.metrics : [];
  problems.push(...metricSpecProblems(metrics, analysis.interval));

  // Template resolution needs a structurally sound Canary; metrics with schema problems of their own are skipped.
  const schemaPaths = schemaProblems.map((p) => p.path);
  const shapeOk =
    isObject(spec.routeRef) && typeof spec.routeRef.name === 'string' && isObject(stable) && typeof stable.name === 'string' &&
    isObject(canary) && typeof canary.name === 'string' && typeof analysis.interval === 'string';
  if (!shapeOk) return problems;
  const typed = obj as unknown as Canary;
  metrics.forEach((m, i) => {
    const prefix = `spec.analysis.metrics[${i}]`;
    if (!isObject(m) || schemaPaths.some((p) => p === prefix || p.startsWith(`${prefix}.`))) return;
    for (const err of metricProblems(typed, i, opts.defaultProvider ?? 'istio', templates)) {
      const path = err.path ?? prefix;
      // Already reported by the schema (e.g. an interval that is no duration), or by an earlier metric.
      if (schemaPaths.includes(path) || problems.some((p) => p.path === path && p.message === err.message)) continue;
      problems.push({ path, message: err.message });
    }
  });
  return problems;
}

const TEMPLATE_FIELDS = ['query', 'requestsQuery', 'totalQuery', 'badQuery'] as const;

/** Every problem of one MetricTemplate object (its variables may be any name: Canaries supply them). */
export function validateMetricTemplate(obj: unknown): Problem[] {
  if (!isObject(obj)) return [{ path: '', message: 'a MetricTemplate must be a mapping' }];
  const problems: Problem[] = [...checkHeader(obj, METRIC_TEMPLATE_KIND), ...checkSchema(obj, crdSchema('MetricTemplate'))];
  const spec = obj.spec;
  if (!isObject(spec)) return problems;
  for (const field of TEMPLATE_FIELDS) {
    const q = spec[field];
    if (typeof q !== 'string' || !q) continue;
    const check = validateTemplateQuery(q, { allowUnknown: true });
    if (!check.ok) {
      const pos = check.position ? ` at line ${check.position.line}, column ${check.position.column}` : '';
      problems.push({ path: `spec.${field}`, message: `${check.message}${pos}` });
    }
  }
  if ((spec.totalQuery === undefined) !== (spec.badQuery === undefined)) {
    problems.push({ path: spec.totalQuery === undefined ? 'spec.totalQuery' : 'spec.badQuery', message: 'totalQuery and badQuery go together (the sequential mode needs both)' });
  }
  return problems;
}

function objectName(obj: unknown): string | undefined {
  if (!isObject(obj)) return undefined;
  const name = isObject(obj.metadata) ? obj.metadata.name : undefined;
  return `${typeof obj.kind === 'string' ? obj.kind : '?'}/${typeof name === 'string' ? name : '?'}`;
}

/**
 * Validates a YAML file of Canaries and MetricTemplates (`---`-separated, or `kind: List`). Templates
 * in the file are usable by the file's Canaries.
 */
export function validateDocuments(yamlText: string, templates: TemplateSet, opts: ValidateOptions = {}): Problem[] {
  const problems: Problem[] = [];
  const objects: Array<{ doc: number; obj: unknown }> = [];
  parseAllDocuments(yamlText).forEach((doc, i) => {
    const document = i + 1;
    if (doc.errors.length) {
      for (const e of doc.errors) {
        const at = e.linePos?.[0];
        problems.push({ path: '', message: `YAML: ${e.message.split('\n')[0]}${at ? ` (line ${at.line}, column ${at.col})` : ''}`, document });
      }
      return;
    }
    const value = doc.toJS() as unknown;
    if (value === null || value === undefined) return;
    if (isObject(value) && value.kind === 'List' && Array.isArray(value.items)) {
      for (const item of value.items) objects.push({ doc: document, obj: item });
    } else {
      objects.push({ doc: document, obj: value });
    }
  });

  const local = templates.clone();
  for (const { obj } of objects) {
    if (isObject(obj) && obj.kind === METRIC_TEMPLATE_KIND && validateMetricTemplate(obj).length === 0) local.add(obj as unknown as MetricTemplate);
  }
  for (const { doc, obj } of objects) {
    const kind = isObject(obj) ? obj.kind : undefined;
    const found =
      kind === CANARY_KIND
        ? validateCanary(obj, local, opts)
        : kind === METRIC_TEMPLATE_KIND
          ? validateMetricTemplate(obj)
          : [{ path: 'kind', message: `expected ${CANARY_KIND} or ${METRIC_TEMPLATE_KIND} (${API_VERSION}), got ${JSON.stringify(kind)}` }];
    const object = objectName(obj);
    for (const p of found) problems.push({ ...p, document: doc, ...(object ? { object } : {}) });
  }
  return problems;
}

