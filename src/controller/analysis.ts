import type { Logger } from 'pino';
import type { Canary } from '../api/canary.js';
import type { Measurement } from '../analysis/types.js';
import type { MetricProvider } from '../metrics/provider.js';
import { loadTemplates, type TemplateSet } from '../metrics/templates.js';
import { measure } from '../metrics/measure.js';
import { enforcementProblems } from '../metrics/enforce-label.js';
import { validateCanary, type Problem } from '../metrics/validate.js';
import { validateDecisionSettings } from '../analysis/validate.js';
import { parseDuration } from '../core/duration.js';
import { errorMessage } from '../core/errors.js';
import { LruMap } from '../core/lru.js';
import { isConfirmType } from '../hooks/index.js';
import { isNativeLoadHook, nativeLoadProblems } from '../load/hook.js';
import type { ControllerConfig } from './config.js';

export interface Analysis {
  templates: TemplateSet;
  validate(canary: Canary): Problem[];
  measure(canary: Canary, signal: AbortSignal): Promise<Measurement[]>;
}

/**
 * Binds the metrics layer to the controller's configuration: the template set (built-ins plus the
 * configured directories) and the default mesh provider. Validation runs every tick before measuring,
 * so a template problem is an InvalidSpec condition, not a failed check.
 */
export async function createAnalysis(o: {
  provider: MetricProvider;
  config: ControllerConfig;
  logger: Logger;
  signal?: AbortSignal;
  /** Provider for a template that names its own Prometheus (spec.provider.address). */
  providerFor?: (address: string) => MetricProvider;
}): Promise<Analysis> {
  const templates = await loadTemplates({ extraPaths: o.config.templates.dirs, ...(o.signal ? { signal: o.signal } : {}) });
  const defaultProvider = o.config.defaults.provider;
  const cache = new ValidationCache();
  const label = o.config.prometheus.enforceNamespaceLabel;
  const checks = (canary: Canary): Problem[] => {
    const problems = withControllerChecks(canary, validateCanary(canary, templates, { defaultProvider }));
    return label && problems.length === 0 ? enforcementProblems(canary, templates, defaultProvider, label) : problems;
  };
  return {
    templates,
    validate: (canary) => cache.get(canary, templates.revision, () => checks(canary)),
    measure: (canary, signal) =>
      measure({ canary, templates, provider: o.provider, signal, defaultProvider, ...(o.providerFor ? { providerFor: o.providerFor } : {}), ...(label ? { enforceNamespaceLabel: label } : {}) }),
  };
}

/** Entries kept; a controller holds at most one spec per Canary that it is ticking. */
const VALIDATION_CACHE_SIZE = 10_000;

/**
 * Validation runs every tick but its answer only changes with the spec or the templates. Parsing every
 * PromQL query again was a tenth of the controller's CPU at a thousand canaries (docs/benchmarks.md).
 * Keyed by the spec's text, not metadata.generation, so a caller that builds Canaries without one is safe.
 */
export class ValidationCache {
  private readonly entries: LruMap<string, Problem[]>;

  constructor(size = VALIDATION_CACHE_SIZE) {
    this.entries = new LruMap(size);
  }

  get(canary: Canary, templatesRevision: number, compute: () => Problem[]): Problem[] {
    const k = `${templatesRevision}\0${canary.metadata.namespace ?? ''}\0${canary.metadata.name}\0${JSON.stringify(canary.spec)}`;
    return this.entries.getOrSet(k, compute).map((p) => ({ ...p }));
  }
}

/**
 * What the reconciler and decide() rely on beyond validateCanary (found by e2e faults-malformed: each
 * of these otherwise started a rollout and shifted traffic before failing): decide()'s own settings
 * (steps 1..99, sequential settings), an interval that parses and is above zero (the delay between ticks), and
 * webhooks that can be called (a url on every non-confirm hook, http or https, except a native load hook,
 * whose hey command must parse). One problem per path,
 * the metrics layer's first.
 */
export function withControllerChecks(canary: Canary, problems: Problem[]): Problem[] {
  const out = [...problems];
  const add = (p: { path: string; message: string }): void => {
    if (!out.some((q) => q.path === p.path)) out.push(p);
  };
  const analysis = canary.spec?.analysis;
  if (!analysis) return out;
  validateDecisionSettings(analysis).forEach(add);
  // The CRD pattern admits "0s", which parseDuration refuses: every tick would throw after the first step.
  try {
    if (parseDuration(analysis.interval, 'spec.analysis.interval') <= 0) add({ path: 'spec.analysis.interval', message: `${analysis.interval} must be above 0 (it is the time between analyses)` });
  } catch (err) {
    add({ path: 'spec.analysis.interval', message: errorMessage(err) });
  }
  (analysis.webhooks ?? []).forEach((h, i) => {
    const path = `spec.analysis.webhooks[${i}].url`;
    if (!h.url) {
      if (!isConfirmType(h.type) && !isNativeLoadHook(h)) add({ path, message: `a ${h.type} hook needs a url (only confirm-* hooks may omit it, as manual gates, and rollout hooks with a hey command in metadata.cmd, run by routeshift's load source)` });
      return;
    }
    let scheme: string;
    try {
      scheme = new URL(h.url).protocol;
    } catch {
      add({ path, message: `"${h.url}" is not a URL` });
      return;
    }
    if (scheme !== 'http:' && scheme !== 'https:') add({ path, message: `unsupported url scheme "${scheme}" (http or https)` });
  });
  nativeLoadProblems(analysis).forEach(add);
  return out;
}
