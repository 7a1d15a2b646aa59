import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { clone, type Json } from './json.js';

const memo = new Map<string, Json[]>();

/**
 * Parses a multi-document YAML file. Large CRD bundles (Gateway API: ~370 kB) take seconds to
 * parse with the `yaml` package, so results are cached by content hash, in memory and as JSON
 * under the OS temp directory, which makes every later server start in any process fast.
 */
export async function loadYamlDocuments(path: string): Promise<Json[]> {
  const text = await readFile(path, 'utf8');
  const hash = createHash('sha256').update(text).digest('hex');
  const hit = memo.get(hash);
  if (hit) return clone(hit);
  const cacheDir = join(tmpdir(), 'routeshift-apiserver-yaml-cache');
  const cacheFile = join(cacheDir, `${hash}.json`);
  let docs: Json[] | undefined;
  try {
    docs = JSON.parse(await readFile(cacheFile, 'utf8')) as Json[];
  } catch {
    docs = undefined;
  }
  if (!docs) {
    docs = [];
    for (const doc of parseAllDocuments(text)) {
      if (doc.errors.length > 0) throw new Error(`${path}: ${doc.errors[0]?.message ?? 'YAML error'}`);
      const v = doc.toJSON() as Json;
      if (v !== null && v !== undefined) docs.push(v);
    }
    try {
      await mkdir(cacheDir, { recursive: true });
      const tmp = `${cacheFile}.${process.pid}.tmp`;
      await writeFile(tmp, JSON.stringify(docs));
      await rename(tmp, cacheFile);
    } catch {
      // a cache that cannot be written only costs time
    }
  }
  memo.set(hash, docs);
  return clone(docs);
}
