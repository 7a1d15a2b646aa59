import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

let cached: string | undefined;

/**
 * The directory holding routeshift's package.json, found by walking up from this module: the same
 * code runs as src/metrics/*.ts under jest and as dist/src/metrics/*.js after a build.
 */
export function packageRoot(): string {
  if (cached) return cached;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg)) {
      try {
        if ((JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'routeshift') return (cached = dir);
      } catch {
        // not ours; keep walking
      }
    }
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`routeshift package root not found above ${fileURLToPath(import.meta.url)}`);
    dir = parent;
  }
}

export function builtinTemplatesDir(): string {
  return join(packageRoot(), 'analysis', 'templates');
}
