import type { Logger } from 'pino';
import type { Canary } from '../api/canary.js';
import type { Measurement } from '../analysis/types.js';
import type { MetricProvider } from '../metrics/provider.js';
import { loadTemplates, type TemplateSet } from '../metrics/templates.js';
import { measure } from '../metrics/measure.js';
import { validateCanary, type Problem } from '../metrics/validate.js';
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
  return {
    templates,
    validate: (canary) => validateCanary(canary, templates, { defaultProvider }),
    measure: (canary, signal) => measure({ canary, templates, provider: o.provider, signal, defaultProvider, ...(o.providerFor ? { providerFor: o.providerFor } : {}) }),
  };
}
