/**
 * The Canary resource (routeshift.io/v1alpha1), mirrored from deploy/crds/canary.yaml.
 * src/api/crd.test.ts proves the two agree, so edit both together.
 */
export const GROUP = 'routeshift.io';
export const VERSION = 'v1alpha1';
export const API_VERSION = `${GROUP}/${VERSION}`;
export const CANARY_KIND = 'Canary';
export const CANARY_PLURAL = 'canaries';
export const METRIC_TEMPLATE_KIND = 'MetricTemplate';
export const METRIC_TEMPLATE_PLURAL = 'metrictemplates';

/** Annotations users (and the CLI) set on a Canary to steer it. Values are free text; a change is the signal. */
export const ANNOTATIONS = {
  /** Any new value reruns the current revision after it failed (or succeeded). */
  retry: 'routeshift.io/retry',
  /** "promote": skip remaining steps (gates still apply unless "promote-now"). */
  promote: 'routeshift.io/promote',
  /** Any new value rolls back now. */
  abort: 'routeshift.io/abort',
  /** Opens manual gates (`confirm-*` hooks with no URL). */
  approve: 'routeshift.io/approve',
} as const;

/** Whose metrics the built-in templates read: a mesh, Traefik (a Gateway data plane) or the app's own. */
export type MeshProvider = 'istio' | 'linkerd' | 'cilium' | 'kuma' | 'traefik' | 'app';

export interface ObjectMeta {
  name: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  creationTimestamp?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

export interface RouteRef {
  group?: string; // default gateway.networking.k8s.io
  kind?: 'HTTPRoute' | 'GRPCRoute'; // default HTTPRoute
  name: string;
  namespace?: string; // default: the Canary's namespace
  /** The rule routeshift owns: its `name`, or its index. Optional when the route has one rule, or one rule holding both backends. */
  rule?: string | number;
}

export interface ServiceRef {
  name: string;
  port: number;
  namespace?: string; // default: the route's namespace
}

export type NoDataPolicy = 'hold' | 'fail' | 'pass';
/** What `inconclusiveLimit` inconclusive analyses in a row lead to: a rollback, or a hold for a person to decide. */
export type InconclusiveLimitAction = 'rollback' | 'pause';
export type AnalysisMode = 'threshold' | 'sequential';

export interface ThresholdRange {
  min?: number;
  max?: number;
}

/** Canary compared with stable on the same template. */
export interface RelativeCheck {
  /** `difference`: canary - stable; `ratio`: canary / stable. */
  compare: 'difference' | 'ratio';
  min?: number;
  max?: number;
}

export interface SequentialSpec {
  /** Worst acceptable degradation, in the metric's unit (percentage points of errors, or of slow requests). */
  tolerance?: number;
  /** Latency bound in ms for the "slow request" share (latency metrics). */
  latencyBoundMs?: number;
  /** Bound on rolling back a good canary (type I). Default 0.01. */
  falseRollback?: number;
  /** Bound on promoting a bad canary (type II). Default 0.01. */
  badPromotion?: number;
  /**
   * Error rate (%) from which a canary shown worse than the stable is rolled back at once: the catastrophic guard
   * bets on canary shares at and above it. Default 20.
   */
  catastrophicErrorRate?: number;
  /**
   * Also count the stable's requests of this window before the rollout started (e.g. "1h"), read once at the
   * first analysis. More stable requests pin the stable's bad share, so the canary is judged sooner. Assumes the
   * stable's share is the same before and during the rollout (docs/analysis.md, "Stable baseline"). Default: off.
   */
  stableBaseline?: string;
}

export interface MetricSpec {
  name: string;
  templateRef?: { name: string; namespace?: string };
  /** Inline PromQL; templated with the same variables as a template. */
  query?: string;
  /** Range window for the query, e.g. "1m". Default: the analysis interval. */
  interval?: string;
  thresholdRange?: ThresholdRange;
  relative?: RelativeCheck;
  /** Minimum requests in the window for the check to count; below it the check is inconclusive. */
  minRequests?: number;
  /** Query returning the request count for minRequests; default: the template's `requests` query if any. */
  requestsQuery?: string;
  noData?: NoDataPolicy;
  /** Query errors in a row before they count as a failed check. Default 2. */
  errorsBeforeFailure?: number;
  mode?: AnalysisMode;
  sequential?: SequentialSpec;
  templateVariables?: Record<string, string>;
  /** Mesh whose built-in template measures each side (the migration case: Linkerd stable, Istio canary). */
  stableProvider?: MeshProvider;
  canaryProvider?: MeshProvider;
}

export type HookType =
  | 'pre-rollout'
  | 'rollout'
  | 'confirm-rollout'
  | 'confirm-traffic-increase'
  | 'confirm-promotion'
  | 'post-rollout'
  | 'rollback'
  | 'event';

export interface WebhookSpec {
  name: string;
  type: HookType;
  /** Absent on a confirm-* hook: a manual gate, opened by `routeshift promote/resume` (the approve annotation). */
  url?: string;
  timeout?: string;
  retries?: number;
  metadata?: Record<string, string>;
}

export interface AlertSpec {
  name: string;
  provider: 'slack' | 'msteams' | 'discord' | 'generic';
  url?: string;
  /** Secret holding `address` (the webhook URL), when the URL is not inline. */
  secretRef?: { name: string };
  severity?: 'info' | 'warn' | 'error';
}

/** A header or query parameter match in Gateway API's form (HTTPHeaderMatch / HTTPQueryParamMatch). */
export interface ValueMatch {
  name: string;
  value: string;
  type?: 'Exact' | 'RegularExpression'; // default Exact
}

/**
 * One entry of `analysis.match`: what the A/B rule of the user's route must match. routeshift checks that the
 * rule has it; it never writes matches (a cookie is matched as the `Cookie` header, Gateway API has no cookie match).
 */
export interface TrafficMatch {
  headers?: ValueMatch[];
  queryParams?: ValueMatch[];
}

/**
 * Keeps a user who once reached the canary on it while the weight grows (Flagger's sessionAffinity). With `rule`:
 * the canary's backendRef in the weighted rule sets the cookie (a ResponseHeaderModifier filter) and `rule` matches
 * it; routeshift sets that rule to canary 100 while the canary takes traffic. Without `rule`: the weighted rule's
 * own Gateway API `sessionPersistence` (where the mesh supports it), checked to name `cookieName`.
 */
export interface SessionAffinitySpec {
  cookieName: string;
  /** Seconds the cookie lives, checked against the Set-Cookie value's Max-Age. */
  maxAge?: number;
  /** The user's rule matching the cookie: its `name`, or its index. */
  rule?: string | number;
}

export interface AnalysisSpec {
  interval: string;
  threshold: number;
  stepWeights?: number[];
  stepWeight?: number;
  maxWeight?: number;
  progressDeadline?: string;
  /** Inconclusive ticks in a row (no data / too little traffic) before the rollout times out. Default: threshold * 2. */
  inconclusiveLimit?: number;
  /**
   * What the time-out does: `rollback` (default), or `pause`: hold at the current weight (phase Waiting, Event
   * AwaitingDecision) until a person runs `routeshift resume` (analyse again), `promote` or `abort`.
   */
  onInconclusiveLimit?: InconclusiveLimitAction;
  /**
   * Analyses of a phase that does not move the weights: the A/B test (with `matchRule` or `match`), or the
   * mirroring (with `mirror`). Flagger's name.
   */
  iterations?: number;
  /** A/B: the user's rule (name or index) with matches, holding the stable and canary backendRefs; flipped to canary 100. */
  matchRule?: string | number;
  /** A/B: the matches the A/B rule must have (checked, never written); finds the rule when `matchRule` is absent. */
  match?: TrafficMatch[];
  sessionAffinity?: SessionAffinitySpec;
  /** Mirror first: `iterations` analyses of copies of the weighted rule's traffic (its RequestMirror filter) before the weights move. */
  mirror?: boolean;
  /** Percent of requests mirrored in the mirror phase (the filter's `percent`). Default 100. */
  mirrorWeight?: number;
  metrics?: MetricSpec[];
  webhooks?: WebhookSpec[];
  alerts?: AlertSpec[];
}

export interface CanarySpec {
  routeRef: RouteRef;
  stable: ServiceRef;
  canary: ServiceRef;
  provider?: MeshProvider;
  suspend?: boolean;
  skipAnalysis?: boolean;
  analysis: AnalysisSpec;
  // --- releases from the workload (issue 17) ---
  /**
   * The Deployment behind each Service. With it the two Service+Deployment pairs are slots: a new pod
   * template (or a referenced ConfigMap/Secret) on the idle slot starts a rollout, and after a promotion
   * the slots swap roles in status.workloads with no spec edit. spec.stable names the slot live at first.
   */
  workloads?: WorkloadsSpec;
}

/** A workload behind one of the Services, in the Service's namespace. */
export interface WorkloadRef {
  kind?: 'Deployment'; // default Deployment
  name: string;
}

export interface WorkloadsSpec {
  /** Behind spec.stable's Service. */
  stable: WorkloadRef;
  /** Behind spec.canary's Service. */
  canary: WorkloadRef;
  /** How long a new revision may take to roll out (updated == available == desired) before it counts as failed. Default 10m. */
  readyDeadline?: string;
}

/** What routeshift keeps about the slots (spec.workloads). */
export interface WorkloadsStatus {
  /** Service name of the live slot (the one holding the traffic). */
  live: string;
  /** Revision (pod template plus referenced ConfigMaps/Secrets) of the live slot when last seen. */
  liveRevision?: string;
  /** Revision of the idle slot that is waiting for its Deployment to roll out, and since when. */
  waiting?: { revision: string; since: string };
}

// TimedOut: rolled back without evidence of harm, the analysis had no answer in time (onInconclusiveLimit: rollback, progressDeadline).
export const PHASES = ['Initializing', 'Progressing', 'Waiting', 'Paused', 'Promoting', 'Succeeded', 'RollingBack', 'Failed', 'TimedOut', 'Invalid'] as const;
export type Phase = (typeof PHASES)[number];

export type ConditionStatus = 'True' | 'False' | 'Unknown';

export interface Condition {
  type: string;
  status: ConditionStatus;
  reason: string;
  message: string;
  lastTransitionTime: string;
  observedGeneration?: number;
}

export type Verdict = 'pass' | 'fail' | 'inconclusive' | 'error';

export interface MetricReport {
  name: string;
  /** Measured canary value; absent when there was none. */
  value?: number;
  /** Measured stable value for relative checks. */
  stableValue?: number;
  /** Human-readable threshold, e.g. ">= 99", "<= 500", "canary - stable <= 0.5". */
  threshold: string;
  verdict: Verdict;
  /** Why, in words: e.g. "no data", "12 requests < minRequests 50", "query error: ...". */
  message: string;
  time: string;
}

/** Per-side counts accumulated by the sequential test (issue 8); survives restarts in status. */
export interface SequentialEvidence {
  name: string;
  canaryTotal: number;
  canaryBad: number;
  stableTotal: number;
  stableBad: number;
  /**
   * The same four sums unrounded. increase() over one window is fractional (extrapolated to the
   * window's edges); rounding each window alone loses a lone bad request that straddles two windows,
   * so sums are kept exact and only the cumulative counts above are whole numbers.
   */
  raw?: { canaryTotal: number; canaryBad: number; stableTotal: number; stableBad: number };
  /**
   * The stable's requests before the rollout (spec stableBaseline), already included in stableTotal and
   * stableBad; read once, at `time` (the rollout's start) over `window`.
   */
  baseline?: { window: string; time: string; total: number; bad: number };
  /** Log of the mixture likelihood ratio for "canary worse". */
  logLR?: number;
  estimate?: number;
  bound?: number;
  verdict: 'worse' | 'not-worse' | 'unknown';
}

/**
 * A transition Event status owes. WeightAdvanced steps of a canary whose interval is shorter than the
 * controller's events.advanceWindow are folded: one Event, named after the first step it covers, counts
 * them (docs/events.md#weightadvanced); each step extends it in its own status write.
 */
export interface OwedEvent {
  name: string;
  reason: string;
  message: string;
  /** Folded steps: how many, the weight before the first, the weights in order, and when the first and last were taken. */
  count?: number;
  from?: number;
  steps?: number[];
  firstTime?: string;
  lastTime?: string;
}

export interface CanaryStatus {
  phase?: Phase;
  /** Weight the canary backendRef holds (0..100, our share of the owned pair). */
  canaryWeight?: number;
  /** Index into the step list of the current weight; -1 before the first step. */
  stepIndex?: number;
  failedChecks?: number;
  inconclusiveChecks?: number;
  /** Query errors in a row, per metric name. */
  errorStreaks?: Record<string, number>;
  /** Identity of what is being rolled out: hash of stable and canary refs plus the retry annotation. */
  revision?: string;
  /** Revision last rolled out to an end (Succeeded, Failed or TimedOut); a rollout starts when `revision` differs. */
  lastCompletedRevision?: string;
  observedGeneration?: number;
  rolloutStartTime?: string;
  lastTransitionTime?: string;
  /** When the current weight was set: the analysis window at this weight starts here. */
  stepStartTime?: string;
  /** When the last analysis ran; the next is due one interval later. */
  lastAnalysisTime?: string;
  conditions?: Condition[];
  lastAnalysis?: MetricReport[];
  evidence?: SequentialEvidence[];
  /**
   * The Event announcing the last transition, written with it so a controller killed before the
   * Event reached the API server announces it after restart (under the same name, so never twice).
   * Mid-rollout it stays after the Event is written, until the next status write drops it: a step is one
   * status write (docs/benchmarks.md). Done means: absent, or the Event of this name exists.
   */
  pendingEvent?: OwedEvent;
  /**
   * Older transition Events still owed: a pendingEvent not yet written when a newer transition took its place.
   * Kept until written, so no transition goes unannounced however many Event writes fail.
   */
  owedEvents?: OwedEvent[];
  /** How the rollback under way ends: Failed on evidence of harm (or an abort), TimedOut without it. */
  rollbackEnd?: 'Failed' | 'TimedOut';
  /** Values of the steering annotations already acted on, so each request is handled once. */
  handledAnnotations?: Record<string, string>;
  message?: string;
  /** Slots of a Canary with spec.workloads: which is live, and what was last seen of each. */
  workloads?: WorkloadsStatus;
}

export interface Canary {
  apiVersion: typeof API_VERSION;
  kind: typeof CANARY_KIND;
  metadata: ObjectMeta;
  spec: CanarySpec;
  status?: CanaryStatus;
}

export interface MetricTemplateSpec {
  provider?: { type?: 'prometheus'; address?: string };
  /** PromQL with {{ variable }} placeholders. */
  query: string;
  /** Optional request-count query for minRequests, same variables. */
  requestsQuery?: string;
  /** Counts for the sequential mode: total and bad requests over {{ interval }}. */
  totalQuery?: string;
  badQuery?: string;
  unit?: string;
}

export interface MetricTemplate {
  apiVersion: typeof API_VERSION;
  kind: typeof METRIC_TEMPLATE_KIND;
  metadata: ObjectMeta;
  spec: MetricTemplateSpec;
}

export function canaryKey(c: { metadata: ObjectMeta }): string {
  return `${c.metadata.namespace ?? 'default'}/${c.metadata.name}`;
}
