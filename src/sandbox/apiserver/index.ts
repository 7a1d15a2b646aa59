/**
 * The sandbox's stand-in for a Kubernetes API server (no real one can run here). Enough of the
 * real server's REST, watch, discovery, OpenAPI v3, Table and CRD validation (structural schema,
 * defaults, pruning, CEL) that @kubernetes/client-node and kubectl 1.32 work against it unchanged.
 *
 *   const api = await startApiServer({ crdFiles: ['deploy/crds/canary.yaml'] });
 *   await api.writeKubeconfig('/tmp/kubeconfig');   // kubectl --kubeconfig /tmp/kubeconfig get canaries -A
 *   api.faults.dropWatches();                       // clients must re-watch
 *   await api.stop();
 */
export { startApiServer, type ApiServer, type ApiServerOptions } from './server.js';
export type { FaultInjector } from './faults.js';
export type { KubeconfigOptions } from './kubeconfig.js';
export { RequestLog, type RequestLogEntry } from './request-log.js';
