import { accessSync, constants as fsConstants, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { RouteshiftError } from '../../core/errors.js';
import { fromRoot } from '../../core/paths.js';

/** The binaries of a real control plane, in the layout of envtest's KUBEBUILDER_ASSETS. */
export interface ControlPlaneBinaries {
  dir: string;
  etcd: string;
  kubeApiserver: string;
  kubeControllerManager: string;
}

export const BINARY_NAMES = ['etcd', 'kube-apiserver', 'kube-controller-manager'] as const;

export class ControlPlaneMissingError extends RouteshiftError {
  constructor(detail: string) {
    super(
      'ControlPlaneMissing',
      `${detail}. Build them with \`bash scripts/controlplane/build.sh\` (needs Go >= 1.26 and the Go module proxy), ` +
        'or set KUBEBUILDER_ASSETS to a folder with etcd, kube-apiserver and kube-controller-manager.',
    );
  }
}

/** The release the build script pins (scripts/controlplane/versions.sh is the one place it is written). */
export function pinnedKubeVersion(): string {
  const text = readFileSync(fromRoot('scripts/controlplane/versions.sh'), 'utf8');
  const m = /^KUBE_VERSION=(\S+)$/m.exec(text);
  if (!m?.[1]) throw new RouteshiftError('ControlPlaneVersion', 'scripts/controlplane/versions.sh names no KUBE_VERSION');
  return m[1];
}

/** Where build.sh puts the binaries: outside the checkout, so fresh clones reuse one build. */
export function controlPlaneCacheDir(version = pinnedKubeVersion()): string {
  const base = process.env['ROUTESHIFT_CACHE'] ?? join(process.env['XDG_CACHE_HOME'] ?? join(homedir(), '.cache'), 'routeshift');
  return join(base, 'controlplane', version);
}

function executable(path: string): boolean {
  try {
    accessSync(path, fsConstants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** KUBEBUILDER_ASSETS when set, else the build cache; throws one clear error when a binary is missing. */
export function findControlPlaneBinaries(env: NodeJS.ProcessEnv = process.env): ControlPlaneBinaries {
  const fromEnv = env['KUBEBUILDER_ASSETS'];
  const dir = fromEnv && fromEnv.trim() !== '' ? fromEnv : controlPlaneCacheDir();
  const missing = BINARY_NAMES.filter((b) => !executable(join(dir, b)));
  if (missing.length > 0) {
    throw new ControlPlaneMissingError(`${missing.join(', ')} not found in ${dir}${fromEnv ? ' (KUBEBUILDER_ASSETS)' : ''}`);
  }
  return {
    dir,
    etcd: join(dir, 'etcd'),
    kubeApiserver: join(dir, 'kube-apiserver'),
    kubeControllerManager: join(dir, 'kube-controller-manager'),
  };
}
