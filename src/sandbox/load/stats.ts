/** Counters of one target Service, as the load generator saw its answers. */
export interface TargetStats {
  /** "namespace/name" of the root Service (with ":port" when the parentRef names a port other than 80). */
  target: string;
  /** Host header sent. */
  host: string;
  sent: number;
  /** Answers received (any status). */
  responses: number;
  /** Requests that failed without an HTTP answer (connection refused, reset, timeout). */
  errors: number;
  /** Ticks skipped because the in-flight limit was reached. */
  dropped: number;
  /** Answers by HTTP status code ("200", "503", ...). */
  byStatus: Record<string, number>;
  /** Answers by the mesh's x-routeshift-backend header ("-" when absent). */
  byBackend: Record<string, number>;
  /** Answers by backend, then status: {"backend-v2": {"503": 12}}. */
  byBackendStatus: Record<string, Record<string, number>>;
  /** With simulated users: answers from another backend than the same user's previous answer (0 = sticky). */
  userSwitches: number;
}

export function emptyStats(target: string, host: string): TargetStats {
  return { target, host, sent: 0, responses: 0, errors: 0, dropped: 0, byStatus: {}, byBackend: {}, byBackendStatus: {}, userSwitches: 0 };
}

export function countResponse(s: TargetStats, status: number, backend: string | undefined): void {
  const code = String(status);
  const b = backend && backend.length > 0 ? backend : '-';
  s.responses++;
  s.byStatus[code] = (s.byStatus[code] ?? 0) + 1;
  s.byBackend[b] = (s.byBackend[b] ?? 0) + 1;
  const perBackend = (s.byBackendStatus[b] ??= {});
  perBackend[code] = (perBackend[code] ?? 0) + 1;
}

export function copyStats(s: TargetStats): TargetStats {
  return {
    ...s,
    byStatus: { ...s.byStatus },
    byBackend: { ...s.byBackend },
    byBackendStatus: Object.fromEntries(Object.entries(s.byBackendStatus).map(([k, v]) => [k, { ...v }])),
  };
}
