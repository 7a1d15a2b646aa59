import { Writable } from 'node:stream';
import type { AlertSpec } from '../api/canary.js';
import { FakeClock, flushMicrotasks } from '../core/clock.js';
import { createLogger, silentLogger } from '../core/logger.js';
import { startReceiver, type Receiver } from '../../test/support/hook-receiver.js';
import { createOutboundPolicy } from '../hooks/outbound.js';
import { createNotifier as create, type NotifierOptions } from './notifier.js';
import { discordPayload } from './discord.js';
import { teamsPayload } from './msteams.js';
import { slackPayload } from './slack.js';
import type { NotifyResult, RolloutNotification } from './types.js';

const base: RolloutNotification = {
  canary: { name: 'podinfo', namespace: 'test' },
  reason: 'WeightAdvanced',
  message: 'canary weight 20 -> 40; request-success-rate 99.8 >= 99',
  severity: 'info',
  phase: 'Progressing',
  weight: 40,
  revision: 'a1b2c3',
  time: '2026-01-01T00:00:00.000Z',
  metrics: [{ name: 'request-success-rate', value: 99.8, threshold: '>= 99', verdict: 'pass' }],
};
const warn: RolloutNotification = { ...base, reason: 'CheckFailed', severity: 'warn', message: 'latency 620 > 500' };
const error: RolloutNotification = { ...base, reason: 'RolledBack', severity: 'error', phase: 'Failed', weight: 0, message: 'rolled back' };

// The receiver listens on loopback, which the default outbound policy refuses (outbound.test.ts covers that).
const loopback = createOutboundPolicy({ allow: ['127.0.0.1'], deny: [], allowOnlyListed: false });
const createNotifier = (o: NotifierOptions) => create({ outbound: loopback, ...o });

let rx: Receiver;
beforeAll(async () => {
  rx = await startReceiver();
});
afterAll(async () => {
  await rx.close();
});

/** Yields to the event loop until `cond` holds; bounded so a bug fails the test rather than spinning. */
async function until(cond: () => boolean): Promise<void> {
  for (let i = 0; !cond(); i++) {
    if (i > 20_000) throw new Error('condition never held');
    await flushMicrotasks(1);
  }
}

function collector(): { results: NotifyResult[]; onResult: (r: NotifyResult) => void } {
  const results: NotifyResult[] = [];
  return { results, onResult: (r) => results.push(r) };
}

describe('delivery', () => {
  it('sends each provider its own payload', async () => {
    const { results, onResult } = collector();
    const notifier = createNotifier({ logger: silentLogger(), onResult });
    const alerts: AlertSpec[] = [
      { name: 'team-slack', provider: 'slack', url: rx.url('/deliver/slack') },
      { name: 'team-teams', provider: 'msteams', url: rx.url('/deliver/teams') },
      { name: 'team-discord', provider: 'discord', url: rx.url('/deliver/discord') },
      { name: 'pager', provider: 'generic', url: rx.url('/deliver/generic') },
    ];
    rx.on('/deliver/teams', { status: 202 });
    rx.on('/deliver/discord', { status: 204 });
    notifier.notify(error, alerts);
    await notifier.flush();
    for (const path of ['/deliver/slack', '/deliver/teams', '/deliver/discord', '/deliver/generic']) {
      expect(rx.to(path)).toHaveLength(1);
      expect(rx.to(path)[0]?.method).toBe('POST');
      expect(rx.to(path)[0]?.headers['content-type']).toBe('application/json');
    }
    expect(rx.to('/deliver/slack')[0]?.body).toEqual(slackPayload(error));
    expect(rx.to('/deliver/teams')[0]?.body).toEqual(teamsPayload(error));
    expect(rx.to('/deliver/discord')[0]?.body).toEqual(discordPayload(error));
    expect(rx.to('/deliver/generic')[0]?.body).toEqual(error);
    expect(results.sort((a, b) => a.alert.localeCompare(b.alert))).toEqual([
      { provider: 'generic', alert: 'pager', ok: true, status: 200 },
      { provider: 'discord', alert: 'team-discord', ok: true, status: 204 },
      { provider: 'slack', alert: 'team-slack', ok: true, status: 200 },
      { provider: 'msteams', alert: 'team-teams', ok: true, status: 202 },
    ]);
    expect(notifier.stats()).toEqual({ queued: 0, inFlight: 0, sent: 4, failed: 0, dropped: 0 });
  });

  it('filters by each alert severity', async () => {
    const notifier = createNotifier({ logger: silentLogger() });
    const alerts: AlertSpec[] = [
      { name: 'all', provider: 'generic', url: rx.url('/sev/all') },
      { name: 'info', provider: 'generic', url: rx.url('/sev/info'), severity: 'info' },
      { name: 'warn', provider: 'generic', url: rx.url('/sev/warn'), severity: 'warn' },
      { name: 'error', provider: 'generic', url: rx.url('/sev/error'), severity: 'error' },
    ];
    for (const n of [base, warn, error]) notifier.notify(n, alerts);
    await notifier.flush();
    const reasons = (path: string): string[] => rx.to(path).map((r) => (r.body as RolloutNotification).reason).sort();
    expect(reasons('/sev/all')).toEqual(['CheckFailed', 'RolledBack', 'WeightAdvanced']);
    expect(reasons('/sev/info')).toEqual(['CheckFailed', 'RolledBack', 'WeightAdvanced']);
    expect(reasons('/sev/warn')).toEqual(['CheckFailed', 'RolledBack']);
    expect(reasons('/sev/error')).toEqual(['RolledBack']);
  });

  it('asks resolveUrl for alerts without url (the Secret lookup)', async () => {
    const { results, onResult } = collector();
    const asked: Array<[string, string]> = [];
    const notifier = createNotifier({
      logger: silentLogger(),
      onResult,
      resolveUrl: async (alert, namespace) => {
        asked.push([alert.secretRef?.name ?? '', namespace]);
        return alert.secretRef?.name === 'slack-webhook' ? rx.url('/secret/slack') : undefined;
      },
    });
    notifier.notify(base, [
      { name: 'from-secret', provider: 'slack', secretRef: { name: 'slack-webhook' } },
      { name: 'empty-secret', provider: 'slack', secretRef: { name: 'missing' } },
      { name: 'nothing', provider: 'discord' },
    ]);
    await notifier.flush();
    expect(rx.to('/secret/slack')).toHaveLength(1);
    expect(asked.sort()).toEqual([
      ['', 'test'],
      ['missing', 'test'],
      ['slack-webhook', 'test'],
    ]);
    expect(results.sort((a, b) => a.alert.localeCompare(b.alert))).toEqual([
      { provider: 'slack', alert: 'empty-secret', ok: false, error: "alert 'empty-secret': the secret gave no webhook address" },
      { provider: 'slack', alert: 'from-secret', ok: true, status: 200 },
      { provider: 'discord', alert: 'nothing', ok: false, error: "alert 'nothing': no url and no secretRef" },
    ]);
  });

  it('reports a non-2xx answer and logs it without the URL', async () => {
    rx.on('/fail/400?token=SECRET', { status: 400, body: 'invalid_payload' });
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, cb) {
        lines.push(chunk.toString());
        cb();
      },
    });
    const { results, onResult } = collector();
    const notifier = createNotifier({ logger: createLogger('warn', sink), onResult });
    notifier.notify(base, [{ name: 'slack', provider: 'slack', url: rx.url('/fail/400?token=SECRET') }]);
    await notifier.flush();
    expect(results).toEqual([{ provider: 'slack', alert: 'slack', ok: false, status: 400, error: 'HTTP 400: invalid_payload' }]);
    expect(notifier.stats().failed).toBe(1);
    const logged = lines.map((l) => JSON.parse(l) as { msg: string; alert: string; err: string });
    expect(logged.map((l) => [l.msg, l.alert, l.err])).toEqual([['notification not delivered', 'slack', 'HTTP 400: invalid_payload']]);
    expect(lines.join('')).not.toContain('SECRET');
  });

  it('survives an onResult callback that throws', async () => {
    const notifier = createNotifier({
      logger: silentLogger(),
      onResult: () => {
        throw new Error('metrics broke');
      },
    });
    notifier.notify(base, [{ name: 'g', provider: 'generic', url: rx.url('/throwing-callback') }]);
    await notifier.flush();
    expect(rx.to('/throwing-callback')).toHaveLength(1);
    expect(notifier.stats().sent).toBe(1);
  });
});

describe('never blocking the caller', () => {
  it('returns at once from notify while a receiver hangs; flush waits out the send timeout', async () => {
    rx.on('/hang/slack', 'hang');
    const clock = new FakeClock();
    const { results, onResult } = collector();
    const notifier = createNotifier({ logger: silentLogger(), onResult, clock, sendTimeoutMs: 5_000 });
    notifier.notify(error, [
      { name: 'stuck', provider: 'slack', url: rx.url('/hang/slack') },
      { name: 'fine', provider: 'generic', url: rx.url('/hang/neighbour') },
    ]);
    // notify() has returned and nothing has been sent yet: the work happens after the caller moves on.
    expect(rx.requests.filter((r) => r.path.startsWith('/hang/'))).toHaveLength(0);
    expect(notifier.stats()).toMatchObject({ queued: 2, inFlight: 0 });

    let flushed = false;
    const flushing = notifier.flush().then(() => {
      flushed = true;
    });
    await rx.waitFor('/hang/slack', 1);
    await rx.waitFor('/hang/neighbour', 1);
    await until(() => results.length >= 1);
    // The other alert went through while the first hangs.
    expect(results).toEqual([{ provider: 'generic', alert: 'fine', ok: true, status: 200 }]);
    await clock.advance(4_999);
    expect(flushed).toBe(false);
    await clock.advance(1);
    await flushing;
    expect(results[1]).toEqual({ provider: 'slack', alert: 'stuck', ok: false, error: 'timed out after 5s' });
  });

  it('bounds the queue, dropping the oldest and counting drops', () => {
    const { results, onResult } = collector();
    const notifier = createNotifier({ logger: silentLogger(), onResult, maxQueue: 2 });
    const alert: AlertSpec = { name: 'g', provider: 'generic', url: rx.url('/bounded') };
    for (let i = 1; i <= 5; i++) notifier.notify({ ...base, message: `m${i}` }, [alert]);
    expect(results).toEqual([1, 2, 3].map(() => ({ provider: 'generic', alert: 'g', ok: false, dropped: true, error: 'queue full' })));
    expect(notifier.stats()).toMatchObject({ queued: 2, dropped: 3 });
    return notifier.flush().then(() => {
      expect(rx.to('/bounded').map((r) => (r.body as RolloutNotification).message)).toEqual(['m4', 'm5']);
    });
  });

  it('stop() aborts sends in flight, drops the queue and ignores later notifications', async () => {
    rx.on('/stop/hang', 'hang');
    const { results, onResult } = collector();
    const notifier = createNotifier({ logger: silentLogger(), onResult, concurrency: 1 });
    const alert: AlertSpec = { name: 'g', provider: 'generic', url: rx.url('/stop/hang') };
    notifier.notify(base, [alert]);
    notifier.notify(warn, [alert]);
    await rx.waitFor('/stop/hang', 1);
    notifier.stop();
    await notifier.flush();
    notifier.notify(error, [alert]);
    await notifier.flush();
    expect(rx.to('/stop/hang')).toHaveLength(1);
    expect(results).toEqual([
      { provider: 'generic', alert: 'g', ok: false, dropped: true, error: 'notifier stopped' },
      { provider: 'generic', alert: 'g', ok: false, error: "notification 'g' was aborted" },
    ]);
    expect(notifier.stats()).toEqual({ queued: 0, inFlight: 0, sent: 0, failed: 1, dropped: 1 });
  });

  it('an aborted signal stops the notifier', async () => {
    const ctl = new AbortController();
    const notifier = createNotifier({ logger: silentLogger(), signal: ctl.signal });
    ctl.abort();
    notifier.notify(base, [{ name: 'g', provider: 'generic', url: rx.url('/signal-stopped') }]);
    await notifier.flush();
    expect(rx.to('/signal-stopped')).toHaveLength(0);
  });

  it('flush with nothing queued resolves', async () => {
    const notifier = createNotifier({ logger: silentLogger() });
    await expect(notifier.flush()).resolves.toBeUndefined();
  });
});
