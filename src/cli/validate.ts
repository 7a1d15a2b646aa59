import { readFileSync } from 'node:fs';
import { parseAllDocuments } from 'yaml';
import type { Canary } from '../api/canary.js';
import { DEFAULT_CONFIG } from '../controller/config.js';
import { createAnalysis } from '../controller/analysis.js';
import { silentLogger } from '../core/logger.js';
import type { MetricProvider } from '../metrics/provider.js';

const offline: MetricProvider = {
  query: () => Promise.reject(new Error('offline')),
  queryVector: () => Promise.reject(new Error('offline')),
  ping: () => Promise.reject(new Error('offline')),
};

/** `routeshift validate -f FILE...`: every problem of every Canary, with file and path; exit 1 on any. */
export async function runValidate(files: string[], templateDirs: string[], out: NodeJS.WritableStream): Promise<number> {
  const config = structuredClone(DEFAULT_CONFIG);
  config.templates.dirs = templateDirs;
  const analysis = createAnalysis({ provider: offline, config, logger: silentLogger() });
  let problems = 0;
  let checked = 0;
  for (const file of files) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      out.write(`${file}: cannot read: ${(err as Error).message}\n`);
      problems++;
      continue;
    }
    for (const doc of parseAllDocuments(text)) {
      if (doc.errors.length) {
        for (const e of doc.errors) out.write(`${file}: YAML: ${e.message}\n`);
        problems += doc.errors.length;
        continue;
      }
      const obj = doc.toJS() as Canary | null;
      if (!obj || obj.kind !== 'Canary') continue;
      checked++;
      const where = `${file}: Canary ${obj.metadata?.namespace ?? 'default'}/${obj.metadata?.name ?? '?'}`;
      const found = [...structural(obj), ...(obj.spec?.analysis ? analysis.validate(obj) : [])];
      for (const p of found) out.write(`${where}: ${p.path}: ${p.message}\n`);
      problems += found.length;
    }
  }
  out.write(problems ? `${problems} problem(s) found\n` : `${checked} Canary object(s) valid\n`);
  return problems ? 1 : 0;
}

function structural(c: Canary): Array<{ path: string; message: string }> {
  const p: Array<{ path: string; message: string }> = [];
  if (!c.metadata?.name) p.push({ path: 'metadata.name', message: 'required' });
  if (!c.spec) return [...p, { path: 'spec', message: 'required' }];
  if (!c.spec.routeRef?.name) p.push({ path: 'spec.routeRef.name', message: 'required' });
  for (const side of ['stable', 'canary'] as const) {
    const s = c.spec[side];
    if (!s?.name) p.push({ path: `spec.${side}.name`, message: 'required' });
    if (!Number.isInteger(s?.port) || (s?.port ?? 0) < 1 || (s?.port ?? 0) > 65535) p.push({ path: `spec.${side}.port`, message: 'must be a port number 1..65535' });
  }
  if (!c.spec.analysis) p.push({ path: 'spec.analysis', message: 'required' });
  else if (!Number.isInteger(c.spec.analysis.threshold) || c.spec.analysis.threshold < 1) p.push({ path: 'spec.analysis.threshold', message: 'must be a positive integer' });
  return p;
}
