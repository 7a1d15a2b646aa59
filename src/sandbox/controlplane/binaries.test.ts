import { execFile } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { fromRoot } from '../../core/paths.js';
import { ControlPlaneMissingError, findControlPlaneBinaries, pinnedKubeVersion } from './binaries.js';

const run = promisify(execFile);
let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'routeshift-bin-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const fake = (name: string): void => {
  writeFileSync(join(dir, name), '#!/bin/sh\n');
  chmodSync(join(dir, name), 0o755);
};

describe('control-plane binaries', () => {
  it('takes KUBEBUILDER_ASSETS as envtest does', () => {
    for (const b of ['etcd', 'kube-apiserver', 'kube-controller-manager']) fake(b);
    expect(findControlPlaneBinaries({ KUBEBUILDER_ASSETS: dir })).toEqual({
      dir,
      etcd: join(dir, 'etcd'),
      kubeApiserver: join(dir, 'kube-apiserver'),
      kubeControllerManager: join(dir, 'kube-controller-manager'),
    });
  });

  it('names what is missing and both ways to get it', () => {
    fake('etcd');
    const err = (() => {
      try {
        findControlPlaneBinaries({ KUBEBUILDER_ASSETS: dir });
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(err).toBeInstanceOf(ControlPlaneMissingError);
    expect((err as Error).message).toContain(`kube-apiserver, kube-controller-manager not found in ${dir} (KUBEBUILDER_ASSETS)`);
    expect((err as Error).message).toContain('scripts/controlplane/build.sh');
  });

  it('reads the pinned release from the build script', () => {
    expect(pinnedKubeVersion()).toMatch(/^v1\.\d+\.\d+$/);
  });

  it('build.sh without Go says so in one line and exits non-zero', async () => {
    const env = { PATH: '/usr/bin:/bin', ROUTESHIFT_CACHE: dir, HOME: dir, ROUTESHIFT_GO_FALLBACK: join(dir, 'no-go') };
    const r = await run('bash', [fromRoot('scripts/controlplane/build.sh')], { env }).then(
      () => ({ code: 0, stderr: '' }),
      (e: { code: number; stderr: string }) => e,
    );
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n')).toEqual([expect.stringMatching(/^controlplane: no Go toolchain .* set KUBEBUILDER_ASSETS/)]);
  });

  it('build.sh with KUBEBUILDER_ASSETS builds nothing and prints that folder', async () => {
    for (const b of ['etcd', 'kube-apiserver', 'kube-controller-manager']) fake(b);
    const { stdout } = await run('bash', [fromRoot('scripts/controlplane/build.sh')], { env: { PATH: '/usr/bin:/bin', KUBEBUILDER_ASSETS: dir } });
    expect(stdout.trim()).toBe(dir);
  });
});
