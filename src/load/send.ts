import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import type { Clock } from '../core/clock.js';
import { OutboundRefusedError, outboundRefusal } from '../hooks/errors.js';
import { guardedLookup } from '../hooks/guarded-agent.js';
import type { OutboundPolicy } from '../hooks/outbound.js';
import type { Outcome, Send, SendResult } from './generator.js';
import type { HeySpec } from './hey.js';

export interface Sender {
  send: Send;
  /** Closes the kept-alive sockets. */
  close(): void;
}

/**
 * Sends the requests of one hey spec. The outbound policy is checked as for webhooks: an address literal
 * before the first request, a name on every connection (inside the socket's DNS lookup). Sockets are kept
 * alive between requests as hey does (-disable-keepalive turns it off); each new one is checked again.
 */
export function createSender(spec: HeySpec, policy: OutboundPolicy, clock: Clock): Sender {
  const url = new URL(spec.url);
  const why = policy.refuseHost(url.hostname);
  if (why) throw new OutboundRefusedError(why);
  const lookup = guardedLookup(policy);
  const https = url.protocol === 'https:';
  const agent = https
    ? new HttpsAgent({ keepAlive: spec.keepAlive, maxSockets: spec.workers, lookup })
    : new HttpAgent({ keepAlive: spec.keepAlive, maxSockets: spec.workers, lookup });
  const headers: Record<string, string> = { 'user-agent': 'routeshift-load (hey-compatible)', ...spec.headers };
  if (spec.host) headers['host'] = spec.host;
  const body = spec.body === undefined ? undefined : Buffer.from(spec.body);
  if (body) headers['content-length'] = String(body.length);
  const request = https ? httpsRequest : httpRequest;

  const send: Send = (parent) =>
    new Promise<SendResult>((resolve) => {
      const stop = new AbortController();
      const signal = AbortSignal.any([parent, stop.signal]);
      let settled = false;
      const done = (r: SendResult): void => {
        if (settled) return;
        settled = true;
        stop.abort();
        resolve(r);
      };
      // The per-request timeout runs on the injected clock, as the webhook timeouts do.
      clock.sleep(spec.timeoutMs, stop.signal).then(
        () => {
          req.destroy(new Error(`timed out after ${spec.timeoutMs} ms`));
        },
        () => undefined,
      );
      const req = request(url, { method: spec.method, headers, agent, signal }, (res: IncomingMessage) => {
        // The body is not kept; reading it to the end frees the socket for the next request.
        res.resume();
        res.on('end', () => done({ outcome: outcomeOf(res.statusCode ?? 0) }));
        res.on('error', (err) => done({ outcome: 'error', error: err }));
      });
      req.on('error', (err) => done({ outcome: 'error', error: outboundRefusal(err) ?? err }));
      req.end(body);
    });
  return { send, close: () => agent.destroy() };
}

function outcomeOf(status: number): Outcome {
  if (status >= 200 && status < 300) return '2xx';
  if (status >= 300 && status < 400) return '3xx';
  if (status >= 400 && status < 500) return '4xx';
  if (status >= 500 && status < 600) return '5xx';
  return 'error';
}
