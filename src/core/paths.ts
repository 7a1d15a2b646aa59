import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

let root: string | undefined;

/**
 * The package root (where package.json is), found by walking up from this file, so data files
 * (analysis/, deploy/crds/, src/sandbox/crds/) resolve the same from src/ under jest and from dist/.
 */
export function packageRoot(): string {
  if (root) return root;
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const up = dirname(dir);
    if (up === dir) throw new Error('package.json not found above ' + fileURLToPath(import.meta.url));
    dir = up;
  }
  root = dir;
  return dir;
}

export function fromRoot(...parts: string[]): string {
  return join(packageRoot(), ...parts);
}
