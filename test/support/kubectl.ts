/**
 * Real kubectl (the /usr/bin/kubectl dispatcher picks 1.32 from the server's /version) with its own
 * HOME and cache dir, so nothing outside the test's temp dir is read or written.
 */
import { execFile } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';

export interface KubectlResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface Kubectl {
  run(args: string[], input?: string): Promise<KubectlResult>;
  /** Like run, but throws with stderr unless kubectl exits 0; returns stdout. */
  ok(args: string[], input?: string): Promise<string>;
}

export function kubectl(kubeconfig: string, dir: string): Kubectl {
  const home = join(dir, 'kubectl-home');
  mkdirSync(home, { recursive: true });
  const env = { PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME: home, KUBECONFIG: kubeconfig };
  const base = ['--kubeconfig', kubeconfig, '--cache-dir', join(dir, 'kubectl-cache')];
  const run = (args: string[], input?: string): Promise<KubectlResult> =>
    new Promise((resolve) => {
      const child = execFile('kubectl', [...base, ...args], { env, timeout: 30_000 }, (err, stdout, stderr) => {
        const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0;
        resolve({ code, stdout, stderr });
      });
      if (input !== undefined) child.stdin?.end(input);
    });
  return {
    run,
    async ok(args, input) {
      const r = await run(args, input);
      if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')} exited ${r.code}: ${r.stderr}`);
      return r.stdout;
    },
  };
}
