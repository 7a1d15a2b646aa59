import { readFileSync } from 'node:fs';
import { parseAllDocuments } from 'yaml';
import type { Canary } from '../api/canary.js';
import { withControllerChecks } from '../controller/analysis.js';
import { crossNamespaceRefs, GRANT_GROUP, refusal, type ReferenceGrant } from '../controller/reference-grants.js';
import { loadTemplates, type TemplateSet } from '../metrics/templates.js';
import { PrometheusProvider } from '../metrics/prometheus-provider.js';
import { locateShape, type Route } from '../routing/index.js';
import { errorCode, errorMessage } from '../core/errors.js';
import { trafficWarnings } from './traffic-check.js';
import { validateDocuments, type Problem } from '../metrics/validate.js';

/** validateDocuments plus the checks the controller adds on load, so the CLI refuses what the controller would. */
function allProblems(text: string, templates: Awaited<ReturnType<typeof loadTemplates>>): Problem[] {
  const docs = parseAllDocuments(text);
  // A manifest bundle (Deployments, Services, the HTTPRoute and the Canary) is checked for its
  // routeshift objects; other API groups are not ours to judge.
  const foreign = new Set<number>();
  docs.forEach((doc, i) => {
    const v = doc.errors.length ? undefined : (doc.toJS() as { apiVersion?: unknown } | null)?.apiVersion;
    if (typeof v === 'string' && !v.startsWith('routeshift.io/')) foreign.add(i + 1);
  });
  const problems = validateDocuments(text, templates).filter((p) => !(p.document !== undefined && foreign.has(p.document)));
  const grants = referenceGrantsIn(docs);
  docs.forEach((doc, i) => {
    if (doc.errors.length) return;
    const obj = doc.toJS() as Canary | null;
    if (obj?.kind !== 'Canary' || !obj.spec?.analysis) return;
    const object = `Canary/${obj.metadata?.name ?? '?'}`;
    for (const p of withControllerChecks(obj, [])) {
      if (!problems.some((q) => q.document === i + 1 && q.path === p.path)) problems.push({ ...p, document: i + 1, object });
    }
    if (!obj.spec.routeRef || !obj.spec.stable || !obj.spec.canary) return;
    // Offline, only the grants in these files count; the controller reads the cluster's.
    const refused = refusal(obj, crossNamespaceRefs(obj), (ns) => grants.filter((g) => g.metadata?.namespace === ns), 'grant', ' (none in these files)');
    for (const p of refused?.problems ?? []) problems.push({ path: p.path, message: `RefNotPermitted: ${p.message}`, document: i + 1, object });
    const route = routeIn(docs, obj);
    if (route) for (const p of routeShapeProblems(route, obj)) problems.push({ ...p, document: i + 1, object });
  });
  return problems;
}

/** The Canary's route when the files hold it (a manifest bundle), so its shape is checked as the controller will. */
function routeIn(docs: ReturnType<typeof parseAllDocuments>, canary: Canary): Route | undefined {
  const ref = canary.spec.routeRef;
  const ns = ref.namespace ?? canary.metadata?.namespace ?? 'default';
  for (const doc of docs) {
    if (doc.errors.length) continue;
    const obj = doc.toJS() as (Route & { apiVersion?: string }) | null;
    if (obj?.kind === (ref.kind ?? 'HTTPRoute') && obj.metadata?.name === ref.name && (obj.metadata.namespace ?? canary.metadata?.namespace ?? 'default') === ns) return obj;
  }
  return undefined;
}

/** What the route lacks for the Canary: its backendRefs, or the rules and filters its traffic shape needs. */
export function routeShapeProblems(route: Route, canary: Canary): Array<{ path: string; message: string }> {
  try {
    locateShape(route, { routeRef: canary.spec.routeRef, stable: canary.spec.stable, canary: canary.spec.canary, canaryNamespace: canary.metadata?.namespace ?? 'default', shape: canary.spec.analysis });
    return [];
  } catch (err) {
    return [{ path: (err as { path?: string }).path ?? 'spec.routeRef', message: `RouteMismatch (${errorCode(err)}): ${errorMessage(err)}` }];
  }
}

function referenceGrantsIn(docs: ReturnType<typeof parseAllDocuments>): ReferenceGrant[] {
  const out: ReferenceGrant[] = [];
  for (const doc of docs) {
    if (doc.errors.length) continue;
    const obj = doc.toJS() as (ReferenceGrant & { apiVersion?: string; kind?: string }) | null;
    if (obj?.kind === 'ReferenceGrant' && typeof obj.apiVersion === 'string' && obj.apiVersion.startsWith(`${GRANT_GROUP}/`)) out.push(obj);
  }
  return out;
}

/** Traffic warnings for the file's valid Canaries (document numbers as in problems). */
async function warnTraffic(file: string, text: string, found: Problem[], templates: TemplateSet, provider: PrometheusProvider, out: NodeJS.WritableStream): Promise<void> {
  const docs = parseAllDocuments(text);
  for (const [i, doc] of docs.entries()) {
    if (doc.errors.length || found.some((p) => p.document === i + 1)) continue;
    const obj = doc.toJS() as Canary | null;
    if (obj?.kind !== 'Canary' || !obj.spec?.analysis) continue;
    const signal = AbortSignal.timeout(30_000);
    for (const w of await trafficWarnings(obj, templates, provider, signal, new Date())) {
      out.write(`${file}: document ${i + 1}: Canary/${obj.metadata?.name ?? '?'}: warning: ${w}\n`);
    }
  }
}

/**
 * `routeshift validate -f FILE...`: every problem of every object, with file, document and path; exit 1 on any.
 * With `prometheus` (an address), also a warning for each valid Canary whose sequential metrics cannot reach a
 * decision before the time-out at the traffic of the last hour; warnings do not change the exit code.
 */
export async function runValidate(files: string[], templateDirs: string[], out: NodeJS.WritableStream, prometheus?: string): Promise<number> {
  const templates = await loadTemplates({ extraPaths: templateDirs });
  const provider = prometheus ? new PrometheusProvider({ address: prometheus }) : undefined;
  let problems = 0;
  for (const file of files) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      out.write(`${file}: cannot read: ${(err as Error).message}\n`);
      problems++;
      continue;
    }
    const found = allProblems(text, templates);
    for (const p of found) {
      const where = [file, p.document ? `document ${p.document}` : '', p.object ?? ''].filter(Boolean).join(': ');
      out.write(`${where}: ${p.path ? `${p.path}: ` : ''}${p.message}\n`);
      problems++;
    }
    if (provider) await warnTraffic(file, text, found, templates, provider, out);
  }
  provider?.close();
  out.write(problems ? `${problems} problem(s) found\n` : `${files.length} file(s) valid\n`);
  return problems ? 1 : 0;
}
