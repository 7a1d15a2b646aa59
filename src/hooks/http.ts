import type { Readable } from 'node:stream';
import axios from 'axios';
import type { Clock } from '../core/clock.js';
import { AbortedError, errorMessage } from '../core/errors.js';
import { OutboundRefusedError, outboundRefusal, WebhookNetworkError, WebhookTimeoutError } from './errors.js';
import { guardedAgents } from './guarded-agent.js';
import { createOutboundPolicy, type OutboundPolicy } from './outbound.js';

export interface PostResult {
  status: number;
  /** The first line of the body (at most SNIPPET_CHARS), for messages; the rest is never read. */
  snippet: string;
}

export interface PostOptions {
  timeoutMs: number;
  signal?: AbortSignal;
  clock: Clock;
  headers?: Record<string, string>;
  /** Where the request may go; default: the built-in deny list with nothing allowed. */
  policy?: OutboundPolicy;
}

const defaultPolicy = createOutboundPolicy();

const SNIPPET_CHARS = 200;
const MAX_BODY_BYTES = 4096;
export const USER_AGENT = 'routeshift';

/**
 * POSTs `body` as JSON and resolves with the status of any HTTP answer (the caller decides what passes).
 * Rejects with WebhookTimeoutError, AbortedError or WebhookNetworkError when there is no answer.
 *
 * The timeout runs on the injected clock rather than axios' own timer, so tests can drive it; redirects
 * are not followed because a redirected POST turns into a GET and would "pass" without the payload, and
 * because a redirect is a second destination the outbound policy would have to check. Environment proxies
 * are ignored: through a proxy the policy would check the proxy's address instead of the receiver's.
 */
export async function postJson(url: string, body: unknown, opts: PostOptions): Promise<PostResult> {
  if (opts.signal?.aborted) throw new AbortedError(`POST ${redact(url)}`);
  const policy = opts.policy ?? defaultPolicy;
  const host = hostOf(url);
  const why = host === undefined ? undefined : policy.refuseHost(host);
  if (why) throw new OutboundRefusedError(why);
  const agents = guardedAgents(policy);
  return withDeadline(opts.clock, opts.timeoutMs, opts.signal, `POST ${redact(url)}`, async (signal) => {
    let res;
    try {
      res = await axios.post<Readable>(url, JSON.stringify(body), {
        signal,
        headers: { 'Content-Type': 'application/json', 'User-Agent': USER_AGENT, ...opts.headers },
        responseType: 'stream',
        validateStatus: () => true,
        maxRedirects: 0,
        proxy: false,
        httpAgent: agents.http,
        httpsAgent: agents.https,
        transformRequest: [(d: unknown) => d],
      });
    } catch (err) {
      if (signal.aborted) throw err; // withDeadline names it (timeout or abort)
      const refused = outboundRefusal(err);
      if (refused) throw refused;
      throw new WebhookNetworkError(networkDetail(err), err);
    }
    const snippet = await readSnippet(res.data, signal);
    return { status: res.status, snippet };
  });
}

/**
 * Runs `fn` with a signal that aborts when `parent` aborts or `timeoutMs` passes on `clock`, and
 * turns the abort into WebhookTimeoutError or AbortedError even when `fn` ignores its signal.
 */
export async function withDeadline<T>(
  clock: Clock,
  timeoutMs: number,
  parent: AbortSignal | undefined,
  what: string,
  fn: (signal: AbortSignal) => Promise<T>,
): Promise<T> {
  // The timeout runs on the injected clock (tests drive it), so not AbortSignal.timeout.
  const timeout = new AbortController();
  const stopTimer = new AbortController();
  clock.sleep(timeoutMs, stopTimer.signal).then(
    () => timeout.abort(new WebhookTimeoutError(timeoutMs)),
    () => undefined,
  );
  const signal = parent ? AbortSignal.any([parent, timeout.signal]) : timeout.signal;
  // Whichever fired first names the failure.
  const failure = (): Error => (signal.reason instanceof WebhookTimeoutError ? new WebhookTimeoutError(timeoutMs) : new AbortedError(what));
  const ended = new Promise<never>((_, reject) => {
    if (signal.aborted) reject(failure());
    else signal.addEventListener('abort', () => reject(failure()), { once: true });
  });
  ended.catch(() => undefined);
  try {
    return await Promise.race([fn(signal), ended]);
  } catch (err) {
    if (signal.aborted) throw failure();
    throw err;
  } finally {
    stopTimer.abort();
  }
}

/** Reads at most MAX_BODY_BYTES, then drops the stream: a huge or endless body must not hold a gate. */
async function readSnippet(stream: Readable, signal: AbortSignal): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of stream) {
      if (signal.aborted) break;
      const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk));
      chunks.push(buf);
      size += buf.length;
      if (size >= MAX_BODY_BYTES) break;
    }
  } catch {
    // The status already arrived; a broken body only costs the snippet.
  } finally {
    stream.destroy();
  }
  const text = Buffer.concat(chunks).subarray(0, MAX_BODY_BYTES).toString('utf8');
  const line = text.split(/\r?\n/).find((l) => l.trim() !== '') ?? '';
  const trimmed = line.trim();
  return trimmed.length > SNIPPET_CHARS ? `${trimmed.slice(0, SNIPPET_CHARS)}…` : trimmed;
}

function networkDetail(err: unknown): string {
  const e = err as { message?: string; code?: string; errors?: Array<{ message?: string }> };
  // Node's happy-eyeballs connect wraps per-address failures in an AggregateError with an empty message.
  const msg = e.message || e.errors?.map((x) => x.message).filter(Boolean).join('; ') || '';
  if (msg) return msg;
  return e.code ?? errorMessage(err);
}

function hostOf(url: string): string | undefined {
  try {
    return new URL(url).hostname;
  } catch {
    return undefined; // axios reports the bad URL
  }
}

/** URLs of chat webhooks are credentials (the token is in the path): logs and messages get the origin only. */
export function redact(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}`;
  } catch {
    return '<invalid url>';
  }
}
