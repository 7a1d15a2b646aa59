import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type KubeConfig } from '@kubernetes/client-node';
import type { Logger } from '../../core/logger.js';
import { fromRoot } from '../../core/paths.js';
import type { ApiServer } from '../apiserver/index.js';
import { renderKubeconfig, type KubeconfigOptions } from '../apiserver/kubeconfig.js';
import { httpKubeRest } from '../mesh/kube/rest.js';
import { createManifests, startControlPlane, type ControlPlane } from './control-plane.js';
import { startFrontDoor, type FrontDoor } from './front-door.js';
import { tokenKubeconfig } from './kubeconfig.js';

/** The controller's own identity: deploy/base's ServiceAccount, bound to deploy/base/rbac.yaml. */
export const CONTROLLER_SERVICE_ACCOUNT = { namespace: 'routeshift-system', name: 'routeshift' } as const;

/** The deploy/base manifests that give the controller its identity and exactly its grants. */
export const CONTROLLER_RBAC_FILES = ['deploy/base/namespace.yaml', 'deploy/base/serviceaccount.yaml', 'deploy/base/rbac.yaml'];

/** The sandbox's API on a real control plane: what the stand-in offers, plus controller identities. */
export interface RealApi extends ApiServer {
  controlPlane: ControlPlane;
  /** Admin access straight to kube-apiserver, past the front door's faults (for the sandbox's own parts). */
  directKubeConfig: KubeConfig;
  /**
   * A kubeconfig with a fresh token of the controller's ServiceAccount, so the real authorizer
   * checks every call against deploy/base/rbac.yaml. `user` names it in the request log as the
   * stand-in would name the token `sandbox-<user>`.
   */
  writeControllerKubeconfig(path: string, user: string): Promise<void>;
}

/**
 * etcd, kube-apiserver and kube-controller-manager, the CRDs a GAMMA cluster has, the controller's
 * ServiceAccount and RBAC, and the fault-injecting front door that every client but the sandbox's
 * own parts goes through.
 */
export async function startRealApi(opts: { dir: string; logger: Logger; crdFiles: string[] }): Promise<RealApi> {
  const controlPlane = await startControlPlane({ dir: join(opts.dir, 'controlplane'), logger: opts.logger, manifests: opts.crdFiles });
  let door: FrontDoor | undefined;
  try {
    const rest = httpKubeRest(controlPlane.adminKubeConfig);
    for (const f of CONTROLLER_RBAC_FILES) await createManifests(rest, fromRoot(f));
    // kube-apiserver made its own self-signed serving certificate there; the door serves the same.
    const certs = join(opts.dir, 'controlplane', 'certs');
    const tls = { cert: readFileSync(join(certs, 'apiserver.crt')), key: readFileSync(join(certs, 'apiserver.key')) };
    door = await startFrontDoor({ upstreamPort: controlPlane.port, adminToken: controlPlane.adminToken, logger: opts.logger, tls });
    const front = door;
    const kubeconfig = (o?: KubeconfigOptions): string => renderKubeconfig(front.url, o);
    return {
      url: front.url,
      port: front.port,
      faults: front.faults,
      requestLog: front.requestLog,
      controlPlane,
      directKubeConfig: controlPlane.adminKubeConfig,
      kubeconfig,
      writeKubeconfig: (path, o) => writeFile(path, kubeconfig(o), { mode: 0o600 }),
      async writeControllerKubeconfig(path, user) {
        const { namespace, name } = CONTROLLER_SERVICE_ACCOUNT;
        const answer = await rest.request<{ status: { token: string } }>('POST', `/api/v1/namespaces/${namespace}/serviceaccounts/${name}/token`, {
          body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: { expirationSeconds: 86_400 } },
        });
        front.label(answer.status.token, `token:${`sandbox-${user}`.slice(0, 24)}`);
        await writeFile(path, tokenKubeconfig(front.url, `system:serviceaccount:${namespace}:${name}`, answer.status.token), { mode: 0o600 });
      },
      async stop() {
        await front.stop();
        await controlPlane.stop();
      },
    };
  } catch (err) {
    await door?.stop();
    await controlPlane.stop();
    throw err;
  }
}
