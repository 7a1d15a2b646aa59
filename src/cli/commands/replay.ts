import { readFileSync, writeFileSync } from 'node:fs';
import { Option, type Command } from 'commander';
import { parseAllDocuments } from 'yaml';
import type { Canary, MeshProvider, MetricTemplate } from '../../api/canary.js';
import { withControllerChecks } from '../../controller/analysis.js';
import { parseDuration } from '../../core/duration.js';
import { AbortedError, errorMessage } from '../../core/errors.js';
import { PrometheusProvider } from '../../metrics/prometheus-provider.js';
import { loadTemplates } from '../../metrics/templates.js';
import { validateCanary } from '../../metrics/validate.js';
import { renderReplayHtml } from '../../report/replay-report.js';
import { replay } from '../../replay/engine.js';
import { ReplayInputError, ReplayNoDataError, ReplayUnavailableError } from '../../replay/errors.js';
import { renderReplayTable } from '../../replay/table.js';
import type { WeightSource } from '../../replay/types.js';
import { EXIT } from './errors.js';

export interface ReplayCommandOptions {
  file: string;
  from: string;
  to: string;
  prometheus: string;
  name?: string;
  templates?: string[];
  weights?: WeightSource;
  stableOnly?: boolean;
  output?: 'table' | 'json';
  report?: string;
  only?: string;
  /** --no-range: one instant query per interval instead of range queries (slower; same answers). */
  range?: boolean;
  provider?: MeshProvider;
  parent?: string;
}

export interface ReplayIO {
  out: NodeJS.WritableStream;
  err: NodeJS.WritableStream;
  signal: AbortSignal;
  /** Milliseconds since the epoch, for `now` in --from/--to. */
  now: number;
}

/**
 * A time for --from/--to: RFC 3339 (2026-12-01T10:00:00Z), Unix seconds, `now`, or `now-<duration>`
 * (e.g. now-7d).
 */
export function parseTime(value: string, flag: string, now: number): number {
  const v = value.trim();
  const rel = /^now(?:-(.+))?$/.exec(v);
  if (rel) {
    try {
      return now - (rel[1] ? parseDuration(rel[1], flag) : 0);
    } catch (err) {
      throw new ReplayInputError(`${flag} ${value}: ${errorMessage(err)}`);
    }
  }
  if (/^\d+(\.\d+)?$/.test(v)) return Math.round(Number(v) * 1000);
  const t = Date.parse(v);
  if (!Number.isFinite(t) || !/\d{4}-\d{2}-\d{2}/.test(v)) throw new ReplayInputError(`${flag} ${value}: not a time (use RFC 3339 like 2026-12-01T10:00:00Z, Unix seconds, or now-7d)`);
  return t;
}

/** The Canary to replay from a file (a bundle may hold other objects, and MetricTemplates it uses). */
function loadCanary(file: string, name: string | undefined): { canary: Canary; templates: MetricTemplate[] } {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ReplayInputError(`${file}: cannot read: ${errorMessage(err)}`);
  }
  const canaries: Canary[] = [];
  const templates: MetricTemplate[] = [];
  for (const doc of parseAllDocuments(text)) {
    if (doc.errors.length) throw new ReplayInputError(`${file}: YAML: ${doc.errors[0]?.message.split('\n')[0] ?? 'error'}`);
    const obj = doc.toJS() as { kind?: string; metadata?: { name?: string } } | null;
    if (obj?.kind === 'Canary') canaries.push(obj as Canary);
    if (obj?.kind === 'MetricTemplate') templates.push(obj as MetricTemplate);
  }
  const picked = name ? canaries.filter((c) => c.metadata?.name === name) : canaries;
  if (picked.length === 0) throw new ReplayInputError(`${file}: no Canary${name ? ` named ${name}` : ''}`);
  if (picked.length > 1) throw new ReplayInputError(`${file}: ${picked.length} Canaries; pick one with --name`);
  return { canary: picked[0] as Canary, templates };
}

/** `routeshift replay`: the Canary's analysis over a past window; exit 0 with a replay, non-zero with no verdict. */
export async function runReplay(o: ReplayCommandOptions, io: ReplayIO): Promise<number> {
  try {
    const { canary, templates: own } = loadCanary(o.file, o.name);
    const templates = await loadTemplates({ extraPaths: o.templates ?? [], objects: own, signal: io.signal });
    const problems = withControllerChecks(canary, validateCanary(canary, templates, o.provider ? { defaultProvider: o.provider } : {}));
    if (problems.length > 0) {
      io.err.write(`error: the Canary in ${o.file} is invalid; nothing replayed:\n${problems.map((p) => `  ${p.path ? `${p.path}: ` : ''}${p.message}`).join('\n')}\n`);
      return EXIT.invalid;
    }
    const from = parseTime(o.from, '--from', io.now);
    const to = parseTime(o.to, '--to', io.now);
    // The future has no samples yet: its intervals would read as "no data" and hold, which never happened.
    if (to > io.now) throw new ReplayInputError(`--to ${o.to} is in the future`);
    const provider = new PrometheusProvider({ address: o.prometheus, timeoutMs: 60_000, retries: 2 });
    let result;
    try {
      result = await replay({
        canary,
        templates,
        provider,
        from,
        to,
        weights: o.weights ?? 'plan',
        stableOnly: o.stableOnly === true,
        range: o.range !== false,
        signal: io.signal,
        ...(o.provider ? { defaultProvider: o.provider } : {}),
        ...(o.parent ? { parent: o.parent } : {}),
      });
    } finally {
      provider.close();
    }
    if (o.report) writeFileSync(o.report, renderReplayHtml(result));
    if (o.output === 'json') io.out.write(JSON.stringify(result, null, 2) + '\n');
    else io.out.write(renderReplayTable(result, o.only ? new Set(o.only.split(',').map((s) => s.trim())) : undefined));
    if (o.report) io.err.write(`report written to ${o.report}\n`);
    return EXIT.ok;
  } catch (err) {
    if (err instanceof AbortedError) return EXIT.interrupted;
    const code =
      err instanceof ReplayUnavailableError ? EXIT.unreachable : err instanceof ReplayNoDataError || err instanceof ReplayInputError ? EXIT.error : undefined;
    if (code === undefined) throw err;
    io.err.write(`error: ${errorMessage(err)}\n`);
    return code;
  }
}

export function register(program: Command, io: () => ReplayIO): Command {
  return program
    .command('replay')
    .description("judge a Canary's analysis against what Prometheus recorded: the decision at every interval of a past window")
    .requiredOption('-f, --file <file>', 'YAML file with the Canary (and any MetricTemplates it uses)')
    .requiredOption('--from <time>', 'start: RFC 3339, Unix seconds, or now-<duration>')
    .requiredOption('--to <time>', 'end: RFC 3339, Unix seconds, now or now-<duration>')
    .requiredOption('--prometheus <url>', 'Prometheus address')
    .option('--name <canary>', 'the Canary to replay when the file holds several')
    .option('--templates <dir...>', 'extra template directories')
    .addOption(new Option('--weights <source>', 'canary weights: the plan decide() walks, or those routeshift recorded (routeshift_canary_weight)').choices(['plan', 'recorded']).default('plan'))
    .option('--stable-only', 'judge the stable against itself, to count false alarms')
    .addOption(new Option('-o, --output <format>', 'table or json').choices(['table', 'json']).default('table'))
    .option('--report <file>', 'also write a self-contained HTML report with a chart per metric')
    .option('--only <actions>', 'table rows for these decisions only, e.g. rollback,hold')
    .option('--no-range', 'one instant query per interval instead of range queries (slower, same answers)')
    .addOption(new Option('--provider <mesh>', 'mesh of a Canary without spec.provider').choices(['istio', 'linkerd', 'cilium', 'kuma', 'app']))
    .option('--parent <service>', 'root Service, for templates that use {{ parent }}')
    .action(async (opts: ReplayCommandOptions) => {
      process.exitCode = await runReplay(opts, io());
    });
}
