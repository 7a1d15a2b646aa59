import type { ServerResponse } from 'node:http';
import type { JsonObject } from './json.js';
import type { StoredEvent, Store } from './store.js';

const MAX_BACKLOG_BYTES = 32 * 1024 * 1024;

export interface WatchOptions {
  storageKey: string;
  namespace?: string;
  /** Whether a storage-form object passes the request's label and field selectors. */
  matches(obj: JsonObject): boolean;
  /** Storage form → what this client receives (version conversion, Table rows). */
  render(obj: JsonObject): JsonObject;
  /** A BOOKMARK's object for a resourceVersion. */
  bookmark(rv: string, initialEventsEnd: boolean): JsonObject;
  bookmarkIntervalMs?: number;
  timeoutMs?: number;
}

/**
 * One open watch stream: newline-delimited `{type, object}` JSON over a chunked response.
 * Objects that start or stop matching a selector arrive as ADDED / DELETED, as from the real cacher.
 */
export class WatchStream {
  private unsubscribe: (() => void) | undefined;
  private timers: NodeJS.Timeout[] = [];
  private closed = false;

  constructor(
    private readonly res: ServerResponse,
    private readonly store: Store,
    private readonly opts: WatchOptions,
    private readonly onClose: (w: WatchStream) => void,
  ) {}

  /** Sends the head and the catch-up events; live events follow through the store subscription. */
  start(initial: { objects?: JsonObject[]; events?: StoredEvent[]; initialEventsEnd?: boolean }): void {
    this.res.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-cache, private', 'Transfer-Encoding': 'chunked' });
    this.res.socket?.setNoDelay(true);
    this.res.flushHeaders();
    for (const obj of initial.objects ?? []) if (this.opts.matches(obj)) this.send('ADDED', obj);
    if (initial.initialEventsEnd) this.sendRaw('BOOKMARK', this.opts.bookmark(String(this.store.currentRv()), true));
    for (const ev of initial.events ?? []) this.deliver(ev);
    const listener: { storageKey: string; namespace?: string; onEvent(ev: StoredEvent): void } = {
      storageKey: this.opts.storageKey,
      onEvent: (ev) => this.deliver(ev),
    };
    if (this.opts.namespace !== undefined) listener.namespace = this.opts.namespace;
    this.unsubscribe = this.store.subscribe(listener);
    if (this.opts.bookmarkIntervalMs !== undefined) {
      const t = setInterval(() => this.sendRaw('BOOKMARK', this.opts.bookmark(String(this.store.currentRv()), false)), this.opts.bookmarkIntervalMs);
      t.unref();
      this.timers.push(t);
    }
    if (this.opts.timeoutMs !== undefined) {
      const t = setTimeout(() => this.end(), this.opts.timeoutMs);
      t.unref();
      this.timers.push(t);
    }
    this.res.on('close', () => this.cleanup());
  }

  /** Sends one ERROR event (e.g. 410 Gone) and ends the stream, as the real server does. */
  fail(status: JsonObject): void {
    this.res.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-cache, private', 'Transfer-Encoding': 'chunked' });
    this.sendRaw('ERROR', status);
    this.end();
  }

  private deliver(ev: StoredEvent): void {
    const now = this.opts.matches(ev.object);
    const before = ev.previous !== undefined && this.opts.matches(ev.previous);
    if (ev.type === 'DELETED') {
      if (before || now) this.send('DELETED', ev.object);
      return;
    }
    if (ev.type === 'ADDED') {
      if (now) this.send('ADDED', ev.object);
      return;
    }
    if (now && before) this.send('MODIFIED', ev.object);
    else if (now) this.send('ADDED', ev.object);
    else if (before) this.send('DELETED', ev.object);
  }

  private send(type: string, obj: JsonObject): void {
    this.sendRaw(type, this.opts.render(obj));
  }

  private sendRaw(type: string, object: JsonObject): void {
    if (this.closed || this.res.writableEnded) return;
    this.res.write(`${JSON.stringify({ type, object })}\n`);
    // A client that stops reading is cut off (it re-watches), so its backlog cannot grow without bound.
    if (this.res.writableLength > MAX_BACKLOG_BYTES) this.end();
  }

  /** Ends the stream cleanly (the client sees end-of-stream and re-watches). */
  end(): void {
    if (!this.res.writableEnded) this.res.end();
    this.cleanup();
  }

  private cleanup(): void {
    if (this.closed) return;
    this.closed = true;
    this.unsubscribe?.();
    for (const t of this.timers) clearTimeout(t);
    this.timers = [];
    this.onClose(this);
  }
}
