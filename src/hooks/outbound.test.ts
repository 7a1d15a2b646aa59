import type { lookup, LookupAddress } from 'node:dns';
import { Writable } from 'node:stream';
import type { AlertSpec, WebhookSpec } from '../api/canary.js';
import { createLogger } from '../core/logger.js';
import { startReceiver, type Receiver } from '../../test/support/hook-receiver.js';
import { createNotifier } from '../notify/notifier.js';
import { guardedLookup } from './guarded-agent.js';
import { createOutboundPolicy, outboundProblems, parseCidr, type OutboundSpec } from './outbound.js';
import { createHookRunner } from './runner.js';
import type { HookPayload } from './types.js';

const spec = (o: Partial<OutboundSpec> = {}): OutboundSpec => ({ allow: [], deny: [], allowOnlyListed: false, ...o });
const payload: HookPayload = { name: 'app', namespace: 'team-a', phase: 'Progressing', weight: 10, revision: 'r1', type: 'rollout', metadata: {} };
const run = { signal: new AbortController().signal, approved: false };

let rx: Receiver;
beforeAll(async () => {
  rx = await startReceiver();
});
afterAll(async () => {
  await rx.close();
});

function logSink(): { stream: Writable; text: () => string } {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      lines.push(chunk.toString());
      cb();
    },
  });
  return { stream, text: () => lines.join('') };
}

describe('the outbound policy', () => {
  const policy = createOutboundPolicy();

  it.each([
    ['169.254.169.254', 'link-local'],
    ['127.0.0.1', 'loopback'],
    ['127.1.2.3', 'loopback'],
    ['[::1]', 'loopback'],
    ['[::ffff:7f00:1]', 'loopback'],
    ['[fe80::1]', 'link-local'],
    ['0.0.0.0', 'unspecified'],
    ['[::]', 'unspecified'],
    ['[fd00:ec2::254]', 'metadata'],
    ['metadata.google.internal', 'metadata host name'],
    ['METADATA.google.internal.', 'metadata host name'],
  ])('refuses %s by default (%s)', (host, why) => {
    expect(policy.refuseHost(host)).toContain(why);
  });

  it('leaves public addresses and names to the connect-time check', () => {
    expect(policy.refuseHost('93.184.216.34')).toBeUndefined();
    expect(policy.refuseHost('hooks.example.com')).toBeUndefined();
    expect(policy.refuseResolved('hooks.example.com', ['93.184.216.34'])).toBeUndefined();
  });

  it('refuses a name when any address it resolves to is refused', () => {
    expect(policy.refuseResolved('rebind.example.com', ['93.184.216.34', '127.0.0.1'])).toBe('rebind.example.com resolves to 127.0.0.1, a loopback address');
    expect(policy.refuseResolved('empty.example.com', [])).toContain('no address');
  });

  it('lets the allowlist exempt addresses, CIDRs and names', () => {
    const p = createOutboundPolicy(spec({ allow: ['127.0.0.0/8', 'metadata.google.internal', '*.svc.cluster.local'] }));
    expect(p.refuseHost('127.0.0.1')).toBeUndefined();
    expect(p.refuseHost('metadata.google.internal')).toBeUndefined();
    expect(p.refuseResolved('hook.team-a.svc.cluster.local', ['169.254.1.1'])).toBeUndefined();
    expect(p.refuseHost('169.254.169.254')).toContain('link-local');
  });

  it('adds deny CIDRs and can refuse everything not listed', () => {
    const p = createOutboundPolicy(spec({ deny: ['10.96.0.0/12'] }));
    expect(p.refuseHost('10.96.0.1')).toBe('10.96.0.1 is listed in outbound.deny (10.96.0.0/12)');
    const strict = createOutboundPolicy(spec({ allow: ['203.0.113.0/24', 'hooks.example.com'], allowOnlyListed: true }));
    expect(strict.refuseHost('203.0.113.9')).toBeUndefined();
    expect(strict.refuseResolved('hooks.example.com', ['198.51.100.1'])).toBeUndefined();
    expect(strict.refuseResolved('other.example.com', ['198.51.100.1'])).toBe('other.example.com resolves to 198.51.100.1, not in outbound.allow');
  });

  it('reports malformed entries with their path', () => {
    expect(parseCidr('10.0.0.0/33')).toBeUndefined();
    expect(parseCidr('fd00::/8')).toEqual({ address: 'fd00::', prefix: 8, family: 'ipv6' });
    expect(outboundProblems(spec({ allow: ['ok.example.com', 'not a host'], deny: ['hooks.example.com'] }))).toEqual([
      { path: 'outbound.allow[1]', message: '"not a host" is neither a host name, an address nor a CIDR' },
      { path: 'outbound.deny[0]', message: '"hooks.example.com" is not an address or a CIDR' },
    ]);
  });
});

describe('the connect-time lookup', () => {
  const fakeDns = (answer: LookupAddress[]) =>
    ((_h: string, _o: unknown, cb: (e: null, a: LookupAddress[]) => void) => cb(null, answer)) as unknown as typeof lookup;

  it('refuses a name that now resolves to loopback (DNS rebinding)', async () => {
    const lookup = guardedLookup(createOutboundPolicy(), fakeDns([{ address: '127.0.0.1', family: 4 }]));
    const err = await new Promise<Error | null>((resolve) => lookup('rebind.example.com', {}, (e) => resolve(e)));
    expect(err?.message).toBe('refused by the outbound policy: rebind.example.com resolves to 127.0.0.1, a loopback address');
  });

  it('answers in the shape the socket asked for', async () => {
    const lookup = guardedLookup(createOutboundPolicy(), fakeDns([{ address: '93.184.216.34', family: 4 }]));
    const one = await new Promise<unknown[]>((resolve) => lookup('ok.example.com', {}, (...a: unknown[]) => resolve(a)));
    expect(one).toEqual([null, '93.184.216.34', 4]);
    const all = await new Promise<unknown[]>((resolve) => lookup('ok.example.com', { all: true }, (...a: unknown[]) => resolve(a)));
    expect(all).toEqual([null, [{ address: '93.184.216.34', family: 4 }]]);
  });
});

describe('hooks and alerts under the default policy', () => {
  it.each([
    ['http://169.254.169.254/latest/meta-data/', '169.254.169.254 is a link-local address'],
    ['http://127.0.0.1:PORT/refused', '127.0.0.1 is a loopback address'],
    ['http://localhost:PORT/refused', 'localhost resolves to'],
  ])('a rollout hook to %s fails without a request and without retries', async (url, why) => {
    const before = rx.requests.length;
    const port = new URL(rx.url('/')).port;
    const hook: WebhookSpec = { name: 'smoke', type: 'rollout', url: url.replace('PORT', port), retries: 3 };
    const r = await createHookRunner({ retryDelayMs: 1 }).run(hook, payload, run);
    expect(r.passed).toBe(false);
    expect(r.message).toContain('refused by the outbound policy');
    expect(r.message).toContain(why);
    expect(r.message).not.toContain('attempts');
    expect(rx.requests.length).toBe(before);
  });

  it('reaches the same receiver once its address is allowed', async () => {
    const hook: WebhookSpec = { name: 'smoke', type: 'rollout', url: rx.url('/allowed') };
    const r = await createHookRunner({ outbound: createOutboundPolicy(spec({ allow: ['127.0.0.1'] })) }).run(hook, payload, run);
    expect(r.passed).toBe(true);
    expect(rx.to('/allowed')).toHaveLength(1);
  });

  it('refuses an alert to loopback and says why in the result', async () => {
    const results: Array<{ ok: boolean; error?: string }> = [];
    const notifier = createNotifier({ logger: createLogger('silent'), onResult: (r) => results.push(r) });
    const alert: AlertSpec = { name: 'chat', provider: 'generic', url: rx.url('/alert') };
    notifier.notify({ canary: { name: 'app', namespace: 'team-a' }, reason: 'RolledBack', message: 'm', severity: 'error', phase: 'Failed', weight: 0, time: 't' }, [alert]);
    await notifier.flush();
    expect(results).toEqual([expect.objectContaining({ ok: false, error: expect.stringContaining('127.0.0.1 is a loopback address') })]);
    expect(rx.to('/alert')).toHaveLength(0);
  });
});

describe('secrets in logs', () => {
  const SECRET = 's3cr3t-planted-7f1e';
  const allow = createOutboundPolicy(spec({ allow: ['127.0.0.1'] }));

  it('never logs a hook URL, its credentials, its query or its metadata, whatever the outcome', async () => {
    const log = logSink();
    const runner = createHookRunner({ logger: createLogger('trace', log.stream), outbound: allow, retryDelayMs: 1 });
    rx.on(`/fail/${SECRET}?token=${SECRET}`, { status: 500, body: `error\nAuthorization: Bearer ${SECRET}` });
    rx.on(`/${SECRET}`, { status: 403, body: 'denied' });
    const port = new URL(rx.url('/')).port;
    const urls = [
      `http://user:${SECRET}@127.0.0.1:${port}/fail/${SECRET}?token=${SECRET}`,
      `http://169.254.169.254/${SECRET}?token=${SECRET}`,
      `http://user:${SECRET}@localhost:${port}/${SECRET}`,
      `http://127.0.0.1:1/${SECRET}`,
    ];
    for (const url of urls) {
      const r = await runner.run({ name: 'smoke', type: 'rollout', url, retries: 1, metadata: { token: SECRET } }, payload, run);
      expect(r.passed).toBe(false);
      expect(r.message).not.toContain(SECRET);
    }
    expect(log.text()).toContain('smoke'); // the logger did write
    expect(log.text()).not.toContain(SECRET);
  });

  it('never logs an alert URL', async () => {
    const log = logSink();
    const notifier = createNotifier({ logger: createLogger('trace', log.stream), outbound: allow });
    const port = new URL(rx.url('/')).port;
    const n = { canary: { name: 'app', namespace: 'team-a' }, reason: 'RolledBack', message: 'm', severity: 'error' as const, phase: 'Failed', weight: 0, time: 't' };
    notifier.notify(n, [
      { name: 'a', provider: 'slack', url: `http://127.0.0.1:${port}/services/${SECRET}` },
      { name: 'b', provider: 'generic', url: `http://metadata.google.internal/${SECRET}` },
    ]);
    await notifier.flush();
    expect(log.text()).toContain('notification');
    expect(log.text()).not.toContain(SECRET);
  });

  it('cuts an answer body short before it reaches a message', async () => {
    rx.on('/long', { status: 400, body: 'x'.repeat(10_000) });
    const r = await createHookRunner({ outbound: allow }).run({ name: 'smoke', type: 'rollout', url: rx.url('/long') }, payload, run);
    expect(r.message.length).toBeLessThan(400);
    expect(r.message).toContain('x'.repeat(200) + '…');
  });
});
