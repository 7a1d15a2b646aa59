/**
 * Clients of the sandbox mesh that the built-in load is not: testers sending an A/B header, and users who keep
 * the cookies they are given (a browser's jar), each with the backends that answered them, in order.
 */
import http from 'node:http';
import { BACKEND_HEADER, SOURCE_NAMESPACE_HEADER, SOURCE_WORKLOAD_HEADER } from '../../src/sandbox/mesh/proxy.js';

export interface MeshAnswer {
  status: number;
  backend: string | undefined;
  setCookie: string[];
}

export function meshGet(meshUrl: string, host: string, headers: Record<string, string> = {}): Promise<MeshAnswer> {
  const url = new URL(meshUrl);
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        hostname: url.hostname,
        port: url.port,
        path: '/',
        method: 'GET',
        timeout: 5_000,
        headers: { host, [SOURCE_WORKLOAD_HEADER]: 'e2e-client', [SOURCE_NAMESPACE_HEADER]: 'sandbox', ...headers },
      },
      (res) => {
        res.resume();
        res.on('end', () => {
          const b = res.headers[BACKEND_HEADER];
          resolve({ status: res.statusCode ?? 0, backend: typeof b === 'string' ? b : undefined, setCookie: res.headers['set-cookie'] ?? [] });
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', reject);
    req.end();
  });
}

/** One simulated user: a cookie jar and the backends that answered, in order. */
export class MeshUser {
  readonly jar = new Map<string, string>();
  readonly backends: string[] = [];

  constructor(
    private readonly meshUrl: string,
    private readonly host: string,
    private readonly headers: Record<string, string> = {},
  ) {}

  async request(): Promise<MeshAnswer> {
    const cookie = [...this.jar].map(([k, v]) => `${k}=${v}`).join('; ');
    const answer = await meshGet(this.meshUrl, this.host, cookie ? { ...this.headers, cookie } : this.headers);
    for (const c of answer.setCookie) {
      const [pair] = c.split(';');
      const eq = pair?.indexOf('=') ?? -1;
      if (pair && eq > 0) this.jar.set(pair.slice(0, eq).trim(), pair.slice(eq + 1).trim());
    }
    if (answer.backend) this.backends.push(answer.backend);
    return answer;
  }
}

/** Users requesting every `everyMs` until stopped; request errors are counted, not thrown. */
export function steadyUsers(users: MeshUser[], everyMs: number): { stop: () => Promise<void>; errors: () => number } {
  let errors = 0;
  let stopped = false;
  const loops = users.map(async (u) => {
    while (!stopped) {
      const started = Date.now();
      await u.request().catch(() => errors++);
      await new Promise((r) => setTimeout(r, Math.max(0, everyMs - (Date.now() - started))));
    }
  });
  return {
    stop: async () => {
      stopped = true;
      await Promise.all(loops);
    },
    errors: () => errors,
  };
}
