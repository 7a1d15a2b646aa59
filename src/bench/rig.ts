import { rmSync } from 'node:fs';
import type { ApiServer } from '../sandbox/apiserver/index.js';
import type { RealApi } from '../sandbox/controlplane/real-api.js';
import type { PrometheusServer } from '../sandbox/prometheus.js';
import type { IstioTarget } from './istio-target.js';
import type { KubeHttp } from './kube-http.js';
import type { RouteStatusStub } from './route-status.js';

/** What a scale or sharding bench run starts around its controllers; any part may not have started yet. */
export interface BenchRig {
  workDir: string;
  api?: ApiServer | RealApi;
  target?: IstioTarget;
  prom?: PrometheusServer;
  stub?: RouteStatusStub;
  client?: KubeHttp;
}

/** Stops the rig's parts, the API server last (the others still talk to it while they stop). */
export async function stopRig(rig: BenchRig): Promise<void> {
  rig.stub?.stop();
  rig.client?.close();
  await rig.prom?.stop();
  await rig.target?.stop();
  await rig.api?.stop();
  rmSync(rig.workDir, { recursive: true, force: true });
}
