/**
 * No Docker engine runs on the development machines, so the image is proven by
 * scripts/build-image-steps.sh, which replays the Dockerfile's steps (run it by hand: it takes minutes).
 * This test keeps the two in step, and the image's contents in step with what the code reads at run time.
 */
import { describe, expect, it } from '@jest/globals';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const read = (p: string): string => readFileSync(join(ROOT, p), 'utf8');

interface Instruction {
  op: string;
  args: string;
}
interface Stage {
  from: string;
  name: string | undefined;
  steps: Instruction[];
}

/** Dockerfile → stages of instructions (comments dropped, `\` continuations joined). */
function parseDockerfile(text: string): Stage[] {
  const lines = text.split('\n').filter((l) => !/^\s*#/.test(l));
  const joined = lines.join('\n').replace(/\\\n/g, ' ');
  const stages: Stage[] = [];
  for (const line of joined.split('\n')) {
    const m = /^\s*([A-Z]+)\s+(.*?)\s*$/.exec(line);
    if (!m) continue;
    const [op, args] = [m[1] as string, m[2] as string];
    if (op === 'FROM') {
      const f = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(args);
      stages.push({ from: f?.[1] ?? args, name: f?.[2], steps: [] });
    } else {
      stages[stages.length - 1]?.steps.push({ op, args });
    }
  }
  return stages;
}

/** RUN's command without BuildKit flags such as --mount=type=cache,... */
const runCommand = (args: string): string => args.replace(/^(--\S+\s+)+/, '');

/** COPY [--from=x] src... dest → { from, sources }. */
function copyOf(args: string): { from: string | undefined; sources: string[] } {
  const parts = args.split(/\s+/);
  const from = parts.find((p) => p.startsWith('--from='))?.slice('--from='.length);
  const rest = parts.filter((p) => !p.startsWith('--'));
  return { from, sources: rest.slice(0, -1) };
}

function scriptArray(script: string, name: string): string[] {
  const m = new RegExp(`^${name}=\\(([^)]*)\\)`, 'm').exec(script);
  if (!m) throw new Error(`scripts/build-image-steps.sh has no ${name}=(...)`);
  return (m[1] as string).split(/\s+/).filter(Boolean);
}

const dockerfile = parseDockerfile(read('Dockerfile'));
const script = read('scripts/build-image-steps.sh');
const [build, runtime] = dockerfile as [Stage, Stage];

describe('Dockerfile', () => {
  it('builds on node:20-bookworm and runs on distroless nodejs20 nonroot', () => {
    expect(dockerfile).toHaveLength(2);
    expect([build.from, build.name]).toEqual(['node:20-bookworm', 'build']);
    expect(runtime.from).toBe('gcr.io/distroless/nodejs20-debian12:nonroot');
  });

  it('runs nothing in the runtime stage (it has no shell) and runs as uid 65532', () => {
    expect(runtime.steps.filter((s) => s.op === 'RUN')).toEqual([]);
    const users = runtime.steps.filter((s) => s.op === 'USER').map((s) => s.args);
    expect(users).toEqual(['65532']);
  });

  it('starts the CLI in exec form with `controller` as the default command', () => {
    const entry = runtime.steps.find((s) => s.op === 'ENTRYPOINT');
    const cmd = runtime.steps.find((s) => s.op === 'CMD');
    expect(JSON.parse(entry?.args ?? 'null')).toEqual(['/nodejs/bin/node', 'dist/cli/main.js']);
    expect(JSON.parse(cmd?.args ?? 'null')).toEqual(['controller']);
    // dist/cli/main.js is compiled from src/cli/main.ts (tsconfig.build.json: rootDir src, outDir dist).
    const tsconfig = JSON.parse(read('tsconfig.build.json')) as { compilerOptions: { rootDir: string; outDir: string } };
    expect([tsconfig.compilerOptions.rootDir, tsconfig.compilerOptions.outDir]).toEqual(['src', 'dist']);
    expect(statSync(join(ROOT, 'src/cli/main.ts')).isFile()).toBe(true);
  });

  it('keeps the context to what it copies (.dockerignore allow-list)', () => {
    const ignore = read('.dockerignore')
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l && !l.startsWith('#'));
    expect(ignore[0]).toBe('*');
    const allowed = new Set(ignore.filter((l) => l.startsWith('!')).map((l) => l.slice(1).replace(/\/$/, '')));
    const contextSources = [...build.steps, ...runtime.steps]
      .filter((s) => s.op === 'COPY')
      .map((s) => copyOf(s.args))
      .filter((c) => c.from === undefined)
      .flatMap((c) => c.sources);
    expect(contextSources.length).toBeGreaterThan(0);
    for (const src of contextSources) expect(allowed.has(src) ? src : `not allowed: ${src}`).toBe(src);
  });
});

describe('scripts/build-image-steps.sh replays the Dockerfile', () => {
  it('runs the build stage RUN commands, in order', () => {
    const runs = build.steps.filter((s) => s.op === 'RUN').map((s) => runCommand(s.args));
    const steps = [...script.matchAll(/^step (.+)$/gm)].map((m) => (m[1] as string).trim());
    expect(runs).toEqual(['npm ci --no-audit --no-fund', 'npm run build', 'npm prune --omit=dev']);
    expect(steps).toEqual(runs);
  });

  it('copies the same build context', () => {
    const sources = build.steps
      .filter((s) => s.op === 'COPY')
      .flatMap((s) => copyOf(s.args).sources);
    expect(scriptArray(script, 'BUILD_CONTEXT').sort()).toEqual(sources.sort());
  });

  it('assembles the runtime stage from the same paths', () => {
    const copies = runtime.steps.filter((s) => s.op === 'COPY').map((s) => copyOf(s.args));
    const fromBuild = copies.filter((c) => c.from === 'build').flatMap((c) => c.sources.map((p) => p.replace(/^\/src\//, '')));
    const fromContext = copies.filter((c) => c.from === undefined).flatMap((c) => c.sources);
    expect(scriptArray(script, 'RUNTIME_FROM_BUILD').sort()).toEqual(fromBuild.sort());
    expect(scriptArray(script, 'RUNTIME_FROM_CONTEXT').sort()).toEqual(fromContext.sort());
    // The build stage's WORKDIR is where the script's build copy plays /src.
    expect(build.steps.find((s) => s.op === 'WORKDIR')?.args).toBe('/src');
  });

  it('checks the entrypoint from the pruned tree', () => {
    expect(script).toContain('node dist/cli/main.js --help');
    expect(script).toMatch(/^set -euo pipefail$/m);
  });
});

describe('the image holds what the code reads at run time', () => {
  it('every package-root data path outside the sandbox is copied into the runtime stage', () => {
    const files: string[] = [];
    const walk = (dir: string): void => {
      for (const entry of readdirSync(dir)) {
        const p = join(dir, entry);
        if (statSync(p).isDirectory()) walk(p);
        else if (p.endsWith('.ts') && !p.endsWith('.test.ts')) files.push(relative(ROOT, p));
      }
    };
    walk(join(ROOT, 'src'));
    const paths = new Set<string>();
    for (const file of files) {
      // The sandbox (local test cluster) is a development tool, not part of the controller image.
      if (file.startsWith('src/sandbox/')) continue;
      // So are the benchmarks: they run from a checkout (npm run bench), never from the image.
      if (file.startsWith('src/bench/')) continue;
      const text = readFileSync(join(ROOT, file), 'utf8');
      for (const m of text.matchAll(/fromRoot\(\s*'([^']+)'(?:\s*,\s*'([^']+)')?/g)) paths.add([m[1], m[2]].filter(Boolean).join('/'));
      for (const m of text.matchAll(/join\(\s*packageRoot\(\)\s*,\s*'([^']+)'(?:\s*,\s*'([^']+)')?/g)) paths.add([m[1], m[2]].filter(Boolean).join('/'));
    }
    expect(paths.size).toBeGreaterThan(0);
    const inImage = runtime.steps
      .filter((s) => s.op === 'COPY')
      .flatMap((s) => copyOf(s.args).sources.map((p) => p.replace(/^\/src\//, '')));
    for (const p of paths) {
      const covered = inImage.some((root) => p === root || p.startsWith(`${root}/`));
      expect(covered ? p : `not in the image: ${p}`).toBe(p);
    }
  });

  it('the Deployment runs the same command the image defaults to', () => {
    const deployment = parseYaml(read('deploy/base/deployment.yaml')) as {
      spec: { template: { spec: { containers: Array<{ args?: string[]; command?: string[] }> } } };
    };
    const c = deployment.spec.template.spec.containers[0];
    expect(c?.command).toBeUndefined(); // keep the image's ENTRYPOINT
    const cmd = JSON.parse(runtime.steps.find((s) => s.op === 'CMD')?.args ?? '[]') as string[];
    expect(c?.args?.[0]).toBe(cmd[0]);
  });
});

describe('the image carries no developer tools', () => {
  const TOOLS = ['src/sandbox', 'src/bench'];

  it('keeps src/sandbox and src/bench out of the build context, and the script does the same', () => {
    const ignored = read('.dockerignore')
      .split('\n')
      .map((l) => l.trim().replace(/\/$/, ''))
      .filter((l) => l && !l.startsWith('#') && !l.startsWith('!'));
    for (const t of TOOLS) expect(ignored).toContain(t);
    expect(scriptArray(script, 'TOOLS').sort()).toEqual([...TOOLS].sort());
    expect(script).toContain('for p in dist/sandbox dist/bench node_modules/@marcbachmann/cel-js');
  });

  it('lists every package only the tools import as a devDependency (npm prune drops it)', () => {
    const pkg = JSON.parse(read('package.json')) as { dependencies: Record<string, string>; devDependencies: Record<string, string> };
    const importers = new Map<string, Set<string>>();
    const walk = (dir: string): void => {
      for (const entry of readdirSync(dir)) {
        const p = join(dir, entry);
        if (statSync(p).isDirectory()) walk(p);
        else if (p.endsWith('.ts') && !p.endsWith('.test.ts')) {
          const file = relative(ROOT, p);
          const area = TOOLS.some((t) => file.startsWith(`${t}/`)) ? 'tool' : 'product';
          // Bare specifiers of import/export declarations and import() calls: the package is the first segment.
          const text = readFileSync(p, 'utf8');
          const specifiers = [...text.matchAll(/^\s*(?:import|export)\b[^;]*?\bfrom\s+'([^']+)'/gm), ...text.matchAll(/\bimport\(\s*'([^']+)'\s*\)/g)].map((m) => m[1] as string);
          for (const spec of specifiers) {
            if (spec.startsWith('.') || spec.startsWith('node:')) continue;
            const name = spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : (spec.split('/')[0] as string);
            (importers.get(name) ?? importers.set(name, new Set()).get(name))?.add(area);
          }
        }
      }
    };
    walk(join(ROOT, 'src'));
    expect(importers.get('@marcbachmann/cel-js')).toEqual(new Set(['tool']));
    const toolOnly = [...importers].filter(([, areas]) => !areas.has('product')).map(([name]) => name);
    expect(toolOnly.filter((name) => name in pkg.dependencies)).toEqual([]);
    // And what the product imports is installed in production.
    const product = [...importers].filter(([, areas]) => areas.has('product')).map(([name]) => name);
    expect(product.filter((name) => !(name in pkg.dependencies))).toEqual([]);
  });
});
