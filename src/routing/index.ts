export * from './types.js';
export * from './errors.js';
export { applyJsonPatch, jsonEqual, formatPointer, parsePointer, JsonPatchError, type JsonPatchOp, type JsonPatchErrorCode } from './json-patch.js';
export {
  locateOwnedBackends,
  backendIdentity,
  serviceIdentity,
  sameBackend,
  describeBackend,
  routeLabel,
  routeNamespace,
  type LocateInput,
  type BackendIdentity,
} from './locate.js';
export { readWeights, weightsFor, canaryPercentOf, effectiveWeight, DEFAULT_WEIGHT, MAX_WEIGHT } from './weights.js';
export { buildWeightPatch, type TargetWeights } from './patch.js';
export { routeProgrammed, type RouteReadiness, type ReadinessOptions, type ReadinessReason } from './readiness.js';
export { KubeRouteClient, type KubeRouteClientOptions } from './kube-route-client.js';
export { CachedRouteClient, type RouteLookup } from './cached-route-client.js';
export {
  setWeights,
  setTraffic,
  routeKeyFor,
  describeRouteKey,
  mapRouteApiError,
  abortable,
  type RouteClient,
  type SetWeightsResult,
} from './route-client.js';
export { locateShape, buildShapePatch, type OwnedShape, type OwnedMirror, type ShapeInput, type ShapeSettings, type ShapeTarget } from './shapes.js';
