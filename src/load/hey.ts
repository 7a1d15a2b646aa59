import { parseDuration } from '../core/duration.js';
import { LoadSpecError } from './errors.js';

/**
 * What a hey command asks for (github.com/rakyll/hey, the load tool of Flagger's loadtester). Only the
 * flags below are understood; anything else is refused rather than silently ignored, so a command that
 * worked against flagger-loadtester never runs differently here without saying so.
 */
export interface HeySpec {
  url: string;
  method: string;
  /** Lower-case names. */
  headers: Record<string, string>;
  body?: string;
  /** -host: the Host header (hey's way to reach a virtual host through a gateway address). */
  host?: string;
  /** -z: how long one run lasts; unset: the run ends after `requests`. */
  durationMs?: number;
  /** -n: requests of one run when -z is unset (hey's default 200). */
  requests: number;
  /** -c: workers, each with at most one request in flight (hey's default 50). */
  workers: number;
  /** -q: requests per second per worker; unset: no limit (the controller's caps still apply). */
  ratePerWorker?: number;
  /** -t: per-request timeout (hey's default 20s; 0 in hey means none, here the default). */
  timeoutMs: number;
  keepAlive: boolean;
}

const DEFAULT_REQUESTS = 200;
const DEFAULT_WORKERS = 50;
const DEFAULT_TIMEOUT_MS = 20_000;
const METHODS = new Set(['GET', 'POST', 'PUT', 'DELETE', 'HEAD', 'OPTIONS', 'PATCH']);

/** Flags that take a value, and flags that do not. */
const VALUED = new Set(['n', 'c', 'q', 'z', 'm', 'H', 'd', 'T', 't', 'A', 'a', 'host', 'o', 'cpus']);
const SWITCHES = new Set(['disable-keepalive', 'disable-compression', 'disable-redirects']);
/** Known to hey but refused, with why. */
const REFUSED: Record<string, string> = {
  D: 'reads the body from a file of the load tester; put the body in -d',
  x: 'sends through a proxy, which the outbound policy could not check',
  h2: 'HTTP/2 is not supported by the native load source',
};

/** Parses `metadata.cmd` of a load hook. Throws LoadSpecError naming the first problem. */
export function parseHeyCommand(cmd: string): HeySpec {
  const words = splitWords(cmd);
  if (words[0] !== 'hey') {
    throw new LoadSpecError(
      `only hey commands run natively (got "${words[0] ?? ''}"); for any other command deploy flagger-loadtester and give the hook its url`,
    );
  }
  const flags = new Map<string, string[]>();
  const positional: string[] = [];
  for (let i = 1; i < words.length; i++) {
    const w = words[i] as string;
    if (!w.startsWith('-') || w === '-') {
      positional.push(w);
      continue;
    }
    const [rawName, inline] = splitFlag(w);
    if (REFUSED[rawName]) throw new LoadSpecError(`hey flag -${rawName} is not supported: it ${REFUSED[rawName]}`);
    if (SWITCHES.has(rawName)) {
      flags.set(rawName, ['true']);
      continue;
    }
    if (!VALUED.has(rawName)) throw new LoadSpecError(`unknown hey flag -${rawName}`);
    const value = inline ?? words[++i];
    if (value === undefined) throw new LoadSpecError(`hey flag -${rawName} needs a value`);
    flags.set(rawName, [...(flags.get(rawName) ?? []), value]);
  }
  if (positional.length !== 1) throw new LoadSpecError(positional.length === 0 ? 'hey needs a URL as its last argument' : `hey takes one URL, got ${positional.map((p) => `"${p}"`).join(', ')}`);
  return toSpec(positional[0] as string, flags);
}

function toSpec(url: string, flags: Map<string, string[]>): HeySpec {
  const one = (f: string): string | undefined => flags.get(f)?.at(-1);
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new LoadSpecError(`"${url}" is not a URL`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new LoadSpecError(`unsupported url scheme "${u.protocol}" (http or https)`);
  const method = (one('m') ?? 'GET').toUpperCase();
  if (!METHODS.has(method)) throw new LoadSpecError(`-m ${method} is not an HTTP method hey sends`);
  const headers: Record<string, string> = {};
  for (const h of flags.get('H') ?? []) {
    const at = h.indexOf(':');
    if (at <= 0) throw new LoadSpecError(`-H "${h}" is not "Name: value"`);
    headers[h.slice(0, at).trim().toLowerCase()] = h.slice(at + 1).trim();
  }
  const ct = one('T');
  const body = one('d');
  // hey sends text/html unless told otherwise; kept so a receiver sees what it saw before.
  if (ct !== undefined) headers['content-type'] = ct;
  else headers['content-type'] ??= 'text/html';
  const accept = one('A');
  if (accept !== undefined) headers['accept'] = accept;
  const auth = one('a');
  if (auth !== undefined) {
    if (!auth.includes(':')) throw new LoadSpecError('-a needs username:password');
    headers['authorization'] = `Basic ${Buffer.from(auth).toString('base64')}`;
  }
  const o = one('o');
  if (o !== undefined && o !== 'csv') throw new LoadSpecError(`-o ${o}: hey's only output type is csv`);
  const spec: HeySpec = {
    url: u.toString(),
    method,
    headers,
    requests: count(one('n'), '-n', DEFAULT_REQUESTS),
    workers: count(one('c'), '-c', DEFAULT_WORKERS),
    timeoutMs: DEFAULT_TIMEOUT_MS,
    keepAlive: !flags.has('disable-keepalive'),
  };
  const t = one('t');
  if (t !== undefined) {
    const s = Number(t);
    if (!Number.isInteger(s) || s < 0) throw new LoadSpecError(`-t ${t}: a whole number of seconds`);
    if (s > 0) spec.timeoutMs = s * 1000;
  }
  if (body !== undefined) spec.body = body;
  const host = one('host');
  if (host !== undefined) spec.host = host;
  const z = one('z');
  if (z !== undefined) {
    try {
      spec.durationMs = parseDuration(z);
    } catch {
      throw new LoadSpecError(`-z ${z} is not a duration (e.g. 30s, 1m)`);
    }
  }
  const q = one('q');
  if (q !== undefined) {
    const rate = Number(q);
    if (!(Number.isFinite(rate) && rate > 0)) throw new LoadSpecError(`-q ${q}: a rate above 0 (requests per second per worker)`);
    spec.ratePerWorker = rate;
  }
  return spec;
}

function count(text: string | undefined, flag: string, fallback: number): number {
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) throw new LoadSpecError(`${flag} ${text}: a whole number above 0`);
  return n;
}

/** `-z=1m`, `--z 1m` and `-z 1m` as Go's flag package reads them. */
function splitFlag(word: string): [string, string | undefined] {
  const bare = word.replace(/^--?/, '');
  const eq = bare.indexOf('=');
  return eq < 0 ? [bare, undefined] : [bare.slice(0, eq), bare.slice(eq + 1)];
}

/**
 * Splits a command line as sh would for plain words and quotes. Anything that needs a shell (pipes,
 * `&&`, redirection, substitution) is refused: nothing is run through one.
 */
export function splitWords(cmd: string): string[] {
  const words: string[] = [];
  let cur = '';
  let inWord = false;
  for (let i = 0; i < cmd.length; i++) {
    const ch = cmd[i] as string;
    if (ch === "'" || ch === '"') {
      const end = cmd.indexOf(ch, i + 1);
      if (end < 0) throw new LoadSpecError(`unterminated ${ch} quote`);
      const inner = cmd.slice(i + 1, end);
      if (ch === '"' && /[`$]/.test(inner)) throw new LoadSpecError('shell substitution ($, `) is not supported: the command is not run through a shell');
      cur += ch === '"' ? inner.replace(/\\(["\\])/g, '$1') : inner;
      inWord = true;
      i = end;
    } else if (ch === '\\' && i + 1 < cmd.length) {
      cur += cmd[++i];
      inWord = true;
    } else if (/\s/.test(ch)) {
      if (inWord) words.push(cur);
      cur = '';
      inWord = false;
    } else if ('|&;<>()$`'.includes(ch)) {
      throw new LoadSpecError(`"${ch}" needs a shell, and the command is not run through one: give one hey command`);
    } else {
      cur += ch;
      inWord = true;
    }
  }
  if (inWord) words.push(cur);
  return words;
}

/** Total requests per second a spec asks for (before the controller's caps); Infinity without -q. */
export function requestedRate(spec: HeySpec): number {
  return spec.ratePerWorker === undefined ? Infinity : spec.ratePerWorker * spec.workers;
}
