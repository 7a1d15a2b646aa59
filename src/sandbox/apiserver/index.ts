export { startApiServer, type ApiServer, type ApiServerOptions } from './server.js';
export type { FaultInjector } from './faults.js';
export type { KubeconfigOptions } from './kubeconfig.js';
export { RequestLog, type RequestLogEntry } from './request-log.js';
