import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { parseAllDocuments } from 'yaml';
import type { Canary, MeshProvider, MetricSpec, MetricTemplate } from '../api/canary.js';
import type { Measurement } from '../analysis/types.js';
import { validateSteps } from '../analysis/steps.js';
import { formatPromDuration, parseDuration } from '../core/duration.js';
import { errorMessage, InvalidSpecError } from '../core/errors.js';
import { fromRoot } from '../core/paths.js';
import type { MetricProvider, QueryOutcome } from '../metrics/provider.js';
import { renderTemplate } from '../metrics/template.js';
import { validatePromQL } from '../metrics/promql.js';
import type { ControllerConfig } from './config.js';

interface Problem {
  path: string;
  message: string;
}

/** Templates by name: the built-ins in analysis/templates plus the config's template directories. */
export function loadTemplateFiles(dirs: string[], logger?: Logger): Map<string, MetricTemplate> {
  const out = new Map<string, MetricTemplate>();
  for (const dir of [fromRoot('analysis/templates'), ...dirs]) {
    if (!existsSync(dir)) continue;
    for (const f of readdirSync(dir).filter((n) => /\.ya?ml$/.test(n)).sort()) {
      try {
        for (const doc of parseAllDocuments(readFileSync(join(dir, f), 'utf8'))) {
          const t = doc.toJS() as MetricTemplate | null;
          if (t?.kind === 'MetricTemplate' && t.metadata?.name && t.spec?.query) out.set(t.metadata.name, t);
        }
      } catch (err) {
        logger?.warn({ file: join(dir, f), err: errorMessage(err) }, 'skipping unreadable template file');
      }
    }
  }
  return out;
}

interface Resolved {
  query: string;
  requestsQuery: string | undefined;
  totalQuery: string | undefined;
  badQuery: string | undefined;
}

/**
 * The controller's measuring half: resolves each Canary metric to its template (a templateRef, an
 * inline query, or the built-in of the mesh provider for request-success-rate/request-duration, as in
 * Flagger), renders it per side and runs the queries a tick needs.
 */
export function createAnalysis(o: { provider: MetricProvider; config: ControllerConfig; logger: Logger }) {
  const templates = loadTemplateFiles(o.config.templates.dirs, o.logger);

  function resolve(canary: Canary, m: MetricSpec, i: number, provider?: MeshProvider): Resolved {
    const path = `spec.analysis.metrics[${i}]`;
    if (m.query) return { query: m.query, requestsQuery: m.requestsQuery, totalQuery: undefined, badQuery: undefined };
    const name = m.templateRef?.name ?? `${provider ?? canary.spec.provider ?? o.config.defaults.provider}-${m.name}`;
    const t = templates.get(name);
    if (!t) {
      const hint = m.templateRef ? `MetricTemplate "${name}" not found` : `metric "${m.name}" has no query or templateRef, and there is no built-in template "${name}"`;
      throw new InvalidSpecError([{ path: m.templateRef ? `${path}.templateRef.name` : path, message: hint }]);
    }
    return { query: t.spec.query, requestsQuery: m.requestsQuery ?? t.spec.requestsQuery, totalQuery: t.spec.totalQuery, badQuery: t.spec.badQuery };
  }

  function vars(canary: Canary, m: MetricSpec, side: 'canary' | 'stable'): Record<string, string> {
    const window = formatPromDuration(parseDuration(m.interval ?? canary.spec.analysis.interval));
    const target = side === 'canary' ? canary.spec.canary.name : canary.spec.stable.name;
    const bound = m.sequential?.latencyBoundMs ?? 500;
    return {
      namespace: canary.metadata.namespace ?? 'default',
      target,
      service: target,
      workload: m.templateVariables?.[`${side}Workload`] ?? target,
      canary: canary.spec.canary.name,
      stable: canary.spec.stable.name,
      route: canary.spec.routeRef.name,
      interval: window,
      latencyBound: String(bound),
      latencyBoundSeconds: String(bound / 1000),
      parent: '',
      ...(m.templateVariables ?? {}),
    };
  }

  function render(canary: Canary, m: MetricSpec, template: string, side: 'canary' | 'stable', path: string): string {
    return renderTemplate(template, vars(canary, m, side), { name: m.name, path });
  }

  function validate(canary: Canary): Problem[] {
    const problems: Problem[] = [...validateSteps(canary.spec.analysis)];
    try {
      parseDuration(canary.spec.analysis.interval, 'spec.analysis.interval');
    } catch (err) {
      problems.push({ path: 'spec.analysis.interval', message: errorMessage(err) });
    }
    (canary.spec.analysis.metrics ?? []).forEach((m, i) => {
      const path = `spec.analysis.metrics[${i}]`;
      if (!m.thresholdRange && !m.relative && m.mode !== 'sequential') problems.push({ path, message: 'needs a thresholdRange, a relative check or mode: sequential' });
      if (m.thresholdRange?.min !== undefined && m.thresholdRange.max !== undefined && m.thresholdRange.min > m.thresholdRange.max) {
        problems.push({ path: `${path}.thresholdRange`, message: `min ${m.thresholdRange.min} is above max ${m.thresholdRange.max}` });
      }
      try {
        const r = resolve(canary, m, i);
        const q = render(canary, m, r.query, 'canary', m.query ? `${path}.query` : path);
        const v = validatePromQL(q);
        if (!v.ok) problems.push({ path: m.query ? `${path}.query` : path, message: `PromQL: ${v.message} at line ${v.position.line}, column ${v.position.column}` });
        if ((m.minRequests ?? 0) > 0 && !r.requestsQuery) problems.push({ path: `${path}.minRequests`, message: 'needs a requestsQuery (the template has none)' });
        if (m.mode === 'sequential' && (!r.totalQuery || !r.badQuery)) problems.push({ path: `${path}.mode`, message: 'sequential mode needs a template with totalQuery and badQuery' });
      } catch (err) {
        if (err instanceof InvalidSpecError) problems.push(...err.problems);
        else problems.push({ path, message: errorMessage(err) });
      }
    });
    return problems;
  }

  async function measure(canary: Canary, signal: AbortSignal): Promise<Measurement[]> {
    const q = (promql: string): Promise<QueryOutcome> => o.provider.query(promql, { signal });
    return Promise.all(
      (canary.spec.analysis.metrics ?? []).map(async (m, i): Promise<Measurement> => {
        const path = `spec.analysis.metrics[${i}]`;
        const r = resolve(canary, m, i, m.canaryProvider);
        const rs = m.stableProvider ? resolve(canary, m, i, m.stableProvider) : r;
        const jobs: Record<string, Promise<QueryOutcome>> = { canary: q(render(canary, m, r.query, 'canary', path)) };
        if (m.relative) jobs.stable = q(render(canary, m, rs.query, 'stable', path));
        if ((m.minRequests ?? 0) > 0 && r.requestsQuery) jobs.requests = q(render(canary, m, r.requestsQuery, 'canary', path));
        if (m.mode === 'sequential' && r.totalQuery && r.badQuery && rs.totalQuery && rs.badQuery) {
          jobs.canaryTotal = q(render(canary, m, r.totalQuery, 'canary', path));
          jobs.canaryBad = q(render(canary, m, r.badQuery, 'canary', path));
          jobs.stableTotal = q(render(canary, m, rs.totalQuery, 'stable', path));
          jobs.stableBad = q(render(canary, m, rs.badQuery, 'stable', path));
        }
        const keys = Object.keys(jobs);
        const values = await Promise.all(Object.values(jobs));
        const got = Object.fromEntries(keys.map((k, j) => [k, values[j] as QueryOutcome]));
        return {
          name: m.name,
          canary: got.canary as QueryOutcome,
          ...(got.stable ? { stable: got.stable } : {}),
          ...(got.requests ? { requests: got.requests } : {}),
          ...(got.canaryTotal
            ? { counts: { canaryTotal: got.canaryTotal, canaryBad: got.canaryBad as QueryOutcome, stableTotal: got.stableTotal as QueryOutcome, stableBad: got.stableBad as QueryOutcome } }
            : {}),
        };
      }),
    );
  }

  return { validate, measure, templates };
}
