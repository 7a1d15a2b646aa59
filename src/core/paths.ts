import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

let root: string | undefined;

/**
 * routeshift's package root (the directory of its package.json), found by walking up from this file, so
 * data files (analysis/, deploy/crds/, src/sandbox/crds/) resolve the same from src/ under jest and from
 * dist/ after a build. A package.json of another name (a nested package) is walked past.
 */
export function packageRoot(): string {
  if (root) return root;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (isOurs(join(dir, 'package.json'))) return (root = dir);
    const up = dirname(dir);
    if (up === dir) throw new Error(`routeshift package root not found above ${fileURLToPath(import.meta.url)}`);
    dir = up;
  }
}

function isOurs(pkg: string): boolean {
  if (!existsSync(pkg)) return false;
  try {
    return (JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'routeshift';
  } catch {
    return false;
  }
}

export function fromRoot(...parts: string[]): string {
  return join(packageRoot(), ...parts);
}
