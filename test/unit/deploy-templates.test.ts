/**
 * deploy/base/templates/ is a copy of analysis/templates/ (the source): kustomize loads files only from
 * inside the kustomization's directory, and `kubectl kustomize deploy/` must work without flags.
 * When this fails, refresh the copy and the generator list:
 *   rm deploy/base/templates/*.yaml && cp analysis/templates/*.yaml deploy/base/templates/
 * and list the files under routeshift-templates in deploy/base/kustomization.yaml.
 */
import { describe, expect, it } from '@jest/globals';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const SOURCE = join(ROOT, 'analysis/templates');
const COPY = join(ROOT, 'deploy/base/templates');
const yamlFiles = (dir: string): string[] => readdirSync(dir).filter((f) => /\.ya?ml$/.test(f)).sort();

describe('deploy/base/templates', () => {
  it('holds the same files as analysis/templates', () => {
    expect(yamlFiles(SOURCE).length).toBeGreaterThan(0);
    expect(yamlFiles(COPY)).toEqual(yamlFiles(SOURCE));
  });

  it.each(yamlFiles(SOURCE))('%s is byte-identical to the source', (file) => {
    expect(readFileSync(join(COPY, file), 'utf8')).toBe(readFileSync(join(SOURCE, file), 'utf8'));
  });

  it('are all listed in the routeshift-templates generator, and nothing else is', () => {
    const k = parseYaml(readFileSync(join(ROOT, 'deploy/base/kustomization.yaml'), 'utf8')) as {
      configMapGenerator?: Array<{ name: string; files?: string[] }>;
    };
    const gen = k.configMapGenerator?.find((g) => g.name === 'routeshift-templates');
    expect((gen?.files ?? []).slice().sort()).toEqual(yamlFiles(SOURCE).map((f) => `templates/${f}`));
  });
});
