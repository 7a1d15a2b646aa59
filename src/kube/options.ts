import { Observable } from '@kubernetes/client-node';
import type { ConfigurationOptions, ObservableMiddleware, RequestContext, ResponseContext } from '@kubernetes/client-node';

/**
 * client-node's generated APIs take no AbortSignal argument, but every request passes through
 * middleware that can attach one (and headers such as a patch Content-Type). All our API calls go
 * through this so that cancellation reaches the socket, not just our await.
 * (The object-parameter APIs run on the Observable layer, hence Observable middleware.)
 */
export function callOptions(signal: AbortSignal, headers?: Record<string, string>): ConfigurationOptions {
  const middleware: ObservableMiddleware = {
    pre: (ctx: RequestContext) => {
      ctx.setSignal(signal);
      for (const [k, v] of Object.entries(headers ?? {})) ctx.setHeaderParam(k, v);
      return new Observable(Promise.resolve(ctx));
    },
    post: (rsp: ResponseContext) => new Observable(Promise.resolve(rsp)),
  };
  return { middleware: [middleware], middlewareMergeStrategy: 'append' };
}

export const CONTENT_TYPE = {
  jsonPatch: 'application/json-patch+json',
  mergePatch: 'application/merge-patch+json',
} as const;
