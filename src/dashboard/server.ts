import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { isIP } from 'node:net';
import { RouteshiftError } from '../core/errors.js';
import { drawCharts, scriptJson, uplotAssets } from '../report/charts.js';
import { PAGE_SCRIPT, PAGE_STYLE } from './page-assets.js';
import type { DashboardState } from './state.js';

/** The dashboard was asked to listen where others could reach it, without --allow-remote. */
export class DashboardBindError extends RouteshiftError {
  constructor(address: string) {
    super(
      'DashboardBind',
      `refusing to listen on ${address}: the dashboard shows every Canary this kubeconfig can read and has no login. ` +
        'It listens on loopback (127.0.0.1) by default; pass --allow-remote to listen elsewhere.',
    );
  }
}

export function isLoopback(address: string): boolean {
  if (address === 'localhost') return true;
  if (isIP(address) === 4) return address.startsWith('127.');
  return address === '::1' || address === '[::1]';
}

/** Throws DashboardBindError unless `address` is loopback or `allowRemote` is set. */
export function checkBindAddress(address: string, allowRemote: boolean): void {
  if (!isLoopback(address) && !allowRemote) throw new DashboardBindError(address);
}

/**
 * A page served on loopback must not answer a page from elsewhere that resolved its own name to
 * 127.0.0.1 (DNS rebinding): the Host header must be a loopback name.
 */
export function hostAllowed(host: string | undefined, loopbackOnly: boolean): boolean {
  if (!loopbackOnly) return true;
  if (!host) return false;
  const name = host.startsWith('[') ? host.slice(0, host.indexOf(']') + 1) : host.replace(/:\d+$/, '');
  return isLoopback(name);
}

/** The page, with uPlot (read from node_modules), the chart code and the script inlined once at startup: nothing is fetched later. */
export function renderPage(): string {
  const { js, css } = uplotAssets();
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>routeshift dashboard</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>${css}
${PAGE_STYLE}</style></head><body>
<header><h1><a href="#/">routeshift</a> dashboard</h1><span id="conn">connecting…</span></header>
<div id="banners"></div>
<main id="view"><p class="muted">Loading…</p></main>
<footer id="sources"></footer>
<script>${js}</script>
<script>window.routeshiftDrawCharts = ${drawCharts.toString()};</script>
<script>${PAGE_SCRIPT}</script>
</body></html>
`;
}

/** Snapshots are pushed at most this often, however fast the watches change. */
const PUSH_MS = 250;
/** A comment line on idle streams so proxies and browsers keep them open. */
const HEARTBEAT_MS = 25_000;

export interface DashboardServerOptions {
  state: DashboardState;
  host: string;
  port: number;
  signal: AbortSignal;
}

export interface DashboardServer {
  url: string;
  server: Server;
  closed: Promise<void>;
}

/** The HTTP side: GET only (the page, a JSON snapshot, a server-sent event stream); everything else is refused. */
export async function startDashboardServer(o: DashboardServerOptions): Promise<DashboardServer> {
  const page = renderPage();
  const loopbackOnly = isLoopback(o.host);
  const streams = new Set<ServerResponse>();
  const server = createServer((req, res) => handle(req, res));

  function handle(req: IncomingMessage, res: ServerResponse): void {
    if (!hostAllowed(req.headers.host, loopbackOnly)) return text(res, 421, 'the dashboard answers only to a loopback Host (127.0.0.1, localhost, [::1])\n');
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('Allow', 'GET, HEAD');
      return text(res, 405, 'the dashboard is read-only\n');
    }
    const url = new URL(req.url ?? '/', 'http://dashboard');
    const selected = url.searchParams.get('canary') ?? undefined;
    if (url.pathname === '/') {
      res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store', 'Content-Security-Policy': "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; img-src data:" });
      return void res.end(page);
    }
    if (url.pathname === '/api/state') {
      res.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' });
      return void res.end(JSON.stringify(o.state.snapshot(selected)));
    }
    if (url.pathname === '/api/stream') return stream(res, selected);
    text(res, 404, 'not found\n');
  }

  function stream(res: ServerResponse, selected: string | undefined): void {
    res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-store', Connection: 'keep-alive' });
    streams.add(res);
    let timer: NodeJS.Timeout | undefined;
    const push = (): void => {
      timer = undefined;
      res.write(`event: state\ndata: ${scriptJson(o.state.snapshot(selected))}\n\n`);
    };
    const schedule = (): void => {
      timer ??= setTimeout(push, PUSH_MS);
    };
    const off = o.state.onChange(schedule);
    const beat = setInterval(() => res.write(': keep-alive\n\n'), HEARTBEAT_MS);
    res.on('close', () => {
      off();
      clearInterval(beat);
      if (timer) clearTimeout(timer);
      streams.delete(res);
    });
    push();
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, o.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : o.port;
  const host = o.host.includes(':') && !o.host.startsWith('[') ? `[${o.host}]` : o.host;
  const closed = new Promise<void>((resolve) => {
    const close = (): void => {
      for (const r of streams) r.end();
      server.close(() => resolve());
      server.closeAllConnections();
    };
    if (o.signal.aborted) close();
    else o.signal.addEventListener('abort', close, { once: true });
  });
  return { url: `http://${host}:${port}/`, server, closed };
}

function text(res: ServerResponse, status: number, body: string): void {
  res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8' });
  res.end(body);
}
