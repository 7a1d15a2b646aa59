import http from 'node:http';

export interface GatewayLoadStats {
  sent: number;
  /** Answers by status code. */
  status: Record<string, number>;
  /** Answers by the Deployment that served them (x-routeshift-workload). */
  workload: Record<string, number>;
  errors: number;
}

/**
 * Steady client traffic to the Gateway's entry point: `rps` requests per second, each on a kept-alive
 * connection, counting answers by status and by the workload that served them.
 */
export function startGatewayLoad(url: string, rps: number, path = '/'): { stats(): GatewayLoadStats; stop(): Promise<void> } {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 32 });
  const stats: GatewayLoadStats = { sent: 0, status: {}, workload: {}, errors: 0 };
  let inFlight = 0;
  const started = Date.now();
  const one = (): void => {
    stats.sent++;
    inFlight++;
    const req = http.get(new URL(path, url), { agent, timeout: 5000 }, (res) => {
      const code = String(res.statusCode ?? 0);
      stats.status[code] = (stats.status[code] ?? 0) + 1;
      const w = res.headers['x-routeshift-workload'];
      if (typeof w === 'string') stats.workload[w] = (stats.workload[w] ?? 0) + 1;
      res.resume();
      res.on('end', () => inFlight--);
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', () => {
      stats.errors++;
      inFlight--;
    });
  };
  // Paced from the start time, so a slow tick catches up instead of lowering the rate.
  const timer = setInterval(() => {
    const due = Math.floor(((Date.now() - started) * rps) / 1000);
    while (stats.sent < due && inFlight < 64) one();
  }, 10);
  return {
    stats: () => structuredClone(stats),
    stop: async () => {
      clearInterval(timer);
      const end = Date.now() + 5000;
      while (inFlight > 0 && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
      agent.destroy();
    },
  };
}
