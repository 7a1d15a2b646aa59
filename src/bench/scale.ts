/**
 * `npm run bench`: routeshift's scale and detection figures, measured on this machine.
 *
 *   node dist/bench/scale.js                                   # counts 10,100,1000, each with batching off and 20ms, 60 s windows, then detection
 *   node dist/bench/scale.js --counts 10,100,1000,5000 --duration 60s
 *   node dist/bench/scale.js --counts 100 --duration 20s --batching off --no-write --skip-detection
 *   BENCH_TRACE=7 ...                                          # print the controller's requests for canary-7 as they are answered
 *   BENCH_CONTROLLER_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" ...   # profile the controller
 *
 * Scale: N canaries progressing at once in one controller process (a child, measured from /proc)
 * against the sandbox API server and a real Prometheus. Detection: the full sandbox (mesh, workloads,
 * load), a canary turned bad mid-rollout, time until the stable holds all the traffic.
 * Results go between the bench:scale markers of docs/benchmarks.md.
 */
import type { SandboxKubernetes } from '../sandbox/sandbox.js';
import { deployedNodeOptions } from './controller-process.js';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseDuration } from '../core/duration.js';
import { DEFAULT_CONFIG } from '../controller/config.js';
import { errorMessage } from '../core/errors.js';
import { writeSection } from './doc-section.js';
import { runDetection, formatDetection, type DetectionResult } from './detection.js';
import { loadAverage, machineDescription } from './proc.js';
import { runScalePoint, type Quantiles, type ScaleResult } from './scale-run.js';

export const SCALE_START = '<!-- bench:scale:start -->';
export const SCALE_END = '<!-- bench:scale:end -->';

export interface ScaleArgs {
  counts: number[];
  durationMs: number;
  intervalSec: number;
  concurrency: number | undefined;
  write: boolean;
  out: string;
  detection: boolean;
  scale: boolean;
  controllerConfig: Record<string, unknown> | undefined;
  /** Each count runs once per setting: 'off' or a prometheus.batchWindow such as 50ms. */
  batching: string[];
  /** Each point runs once per API server: the stand-in ('embedded') and/or the real kube-apiserver. */
  kubernetes: SandboxKubernetes[];
}

export function parseScaleArgs(argv: string[]): ScaleArgs {
  const a: ScaleArgs = {
    counts: [10, 100, 1000],
    durationMs: 60_000,
    intervalSec: 10,
    concurrency: undefined,
    write: true,
    out: 'docs/benchmarks.md',
    detection: true,
    scale: true,
    controllerConfig: undefined,
    batching: ['off', '20ms'],
    kubernetes: ['embedded'],
  };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const v = argv[i + 1];
    const need = (): string => {
      if (v === undefined) throw new Error(`${flag} needs a value`);
      i++;
      return v;
    };
    switch (flag) {
      case '--counts':
        a.counts = need()
          .split(',')
          .map((s) => Number(s.trim()));
        if (a.counts.some((n) => !Number.isInteger(n) || n < 1)) throw new Error('--counts needs positive whole numbers, e.g. 10,100,1000');
        break;
      case '--duration':
        a.durationMs = parseDuration(need(), '--duration');
        break;
      case '--interval':
        a.intervalSec = parseDuration(need(), '--interval') / 1000;
        break;
      case '--concurrency':
        a.concurrency = Number(need());
        break;
      case '--controller-config':
        a.controllerConfig = JSON.parse(need()) as Record<string, unknown>;
        break;
      case '--kubernetes':
        a.kubernetes = need()
          .split(',')
          .map((x) => x.trim()) as SandboxKubernetes[];
        if (a.kubernetes.some((k) => k !== 'embedded' && k !== 'real')) throw new Error('--kubernetes takes embedded, real or both (embedded,real)');
        break;
      case '--batching':
        a.batching = need()
          .split(',')
          .map((x) => x.trim());
        for (const b of a.batching) if (b !== 'off') parseDuration(b, '--batching');
        break;
      case '--out':
        a.out = need();
        break;
      case '--no-write':
        a.write = false;
        break;
      case '--skip-detection':
        a.detection = false;
        break;
      case '--only-detection':
        a.scale = false;
        break;
      default:
        throw new Error(`unknown flag ${flag}`);
    }
  }
  return a;
}

const f = (v: number | undefined, digits = 0, unit = ''): string => (v === undefined || Number.isNaN(v) ? '–' : `${v.toFixed(digits)}${unit}`);
const q = (x: Quantiles): string => `${f(x.p50)} / ${f(x.p99)} / ${f(x.max)}`;

export function formatScaleTable(results: ScaleResult[]): string {
  const lines = [
    '| canaries | batching | API server | tick lateness p50 / p99 / max (s, scheduler) | analysis lateness p50 / p99 / max (ms) | decision → patch p50 / p99 / max (ms) | RSS end / max (MiB) | heap used (MiB) | CPU (cores) | CPU-ms / tick | API req / canary / interval | API writes / advancing tick (of them Events) | Prometheus queries / canary / interval | analyses / canary / interval | ready / all started (s) |',
    '| ---: | --- | --- | --- | --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |',
  ];
  for (const r of results) {
    const t = r.tickLateness;
    // The histogram's last finite bucket is 10 s: beyond it only "more than 10 s" is known.
    const open = (v: number | undefined, isOpen: boolean): string => (isOpen ? `> ${f(v, 0)}` : f(v, 3));
    const max = t.maxBound === undefined ? '–' : t.maxBound === Infinity ? '> 10' : `≤ ${f(t.maxBound, 3)}`;
    lines.push(
      `| ${r.count} | ${r.batching} | ${r.kubernetes === 'real' ? 'kube-apiserver' : 'stand-in'} | ${open(t.p50, t.p50Open)} / ${open(t.p99, t.p99Open)} / ${max} | ${q(r.analysisLateness)} | ${q(r.decisionToPatch)} | ${f(r.rssMiB.end)} / ${f(r.rssMiB.max)} | ${f(r.heapUsedMiB)} | ${f(r.cpuCores, 2)} | ${f(r.cpuMsPerTick, 2)} | ${f(r.apiPerCanaryInterval, 2)} | ${f(r.writesPerAdvance, 2)} (${f(r.eventWritesPerAdvance, 2)}) | ${f(r.promPerCanaryInterval, 2)} | ${f(r.analysesPerCanaryInterval, 2)} | ${f(r.readyMs === undefined ? undefined : r.readyMs / 1000, 1)} / ${f(r.allStartedMs === undefined ? undefined : r.allStartedMs / 1000, 1)} |`,
    );
  }
  return lines.join('\n');
}

function breakdownLines(results: ScaleResult[]): string[] {
  return results.map((r) => {
    const parts = Object.entries(r.apiBreakdown)
      .sort((a, b) => b[1] - a[1])
      .map(([k, v]) => `${k} ${v.toFixed(2)}`);
    const extra = [
      `load average at start ${r.loadAverage}`,
      `CPU of the harness ${r.harnessCores.toFixed(2)} cores, of Prometheus ${r.prometheusCores.toFixed(2)} cores`,
      `Prometheus request mean ${f(r.promLatencyMs.mean)} ms, p99 ${f(r.promLatencyMs.p99)} ms`,
      `V8 heap reserved ${f(r.heapTotalMiB)} MiB, external ${f(r.externalMiB)} MiB`,
      `setup ${(r.setupMs / 1000).toFixed(1)} s`,
      `window ${r.windowSec.toFixed(0)} s, ${r.tickLateness.ticks} ticks, ${r.advances} advancing`,
      `API errors ${r.apiErrors}`,
      `failed Prometheus requests ${f(r.promFailures)}`,
      `"reconcile failed" log lines ${r.reconcileErrors}`,
      ...r.notes,
    ];
    return `- ${r.count} (batching ${r.batching}): ${parts.join(', ')}; ${extra.join('; ')}`;
  });
}

function section(args: ScaleArgs, command: string, results: ScaleResult[], detection: DetectionResult[] | undefined, failures: string[]): string {
  const out = [
    '## Scale and detection',
    '',
    `Command: \`${command}\` · date: ${new Date().toISOString().slice(0, 10)} · machine: ${machineDescription()} · load average when the run ended: ${loadAverage()}.`,
    '',
  ];
  if (results.length) {
    out.push(
      '### Scale',
      '',
      `N canaries progressing at once (interval ${args.intervalSec} s, two metrics each: Istio success rate and p99 over 30 s windows, 99 steps of 1%) ` +
        `in one controller process (\`routeshift controller\`, concurrency ${args.concurrency ?? DEFAULT_CONFIG.concurrency}, log level info, NODE_OPTIONS ${deployedNodeOptions() ?? 'none'} as deploy/base/deployment.yaml sets it), against the sandbox API server ` +
        'and a real Prometheus scraping one target with the Istio series of every canary Service (5 s scrape). A stand-in writes route status ' +
        '(Accepted/ResolvedRefs for each generation) in place of the mesh. Each point: fresh servers, warm-up until every canary is at its first step ' +
        `plus one interval, then a ${(args.durationMs / 1000).toFixed(0)} s window. Memory and CPU are the controller process's own (/proc VmRSS, utime+stime); ` +
        'the API server, Prometheus and the harness run beside it on the same two cores.',
      '',
      '- tick lateness: `routeshift_tick_lateness_seconds` (when the scheduler started a tick against when it was due), interpolated in its buckets; max is the bucket bound.',
      '- analysis lateness: when an analysis ran (status.lastAnalysisTime) against when it was due (previous stepStartTime/lastAnalysisTime + interval). It includes the previous tick\'s own duration, because the next tick is scheduled when a tick ends.',
      '- decision → patch: the status write recording a decision, answered, to the route weight patch, answered (timestamps taken at the API server).',
      '- API requests and Prometheus queries are the controller\'s, counted at the API server and from `routeshift_prometheus_request_duration_seconds_count` (HTTP requests: a batch of queries is one).',
      '- CPU-ms / tick: the controller\'s CPU time in the window over the ticks started in it. API writes / advancing tick: every create, update, patch and delete of the controller in the window (status, Events, routes) over the ticks that moved a canary to its next weight (route patches).',
      '',
      formatScaleTable(results),
      '',
      'API requests by kind, per canary per interval:',
      '',
      ...breakdownLines(results),
      '',
    );
  }
  if (failures.length) out.push('Points that did not complete:', '', ...failures.map((x) => `- ${x}`), '');
  if (detection) out.push('### Detection', '', formatDetection(detection), '');
  return out.join('\n').trimEnd();
}

export async function main(argv: string[]): Promise<void> {
  const args = parseScaleArgs(argv);
  const say = (line: string): void => void process.stdout.write(`${line}\n`);
  const results: ScaleResult[] = [];
  const failures: string[] = [];
  if (args.scale) {
    for (const count of args.counts) {
      for (const [batching, kubernetes] of args.batching.flatMap((b) => args.kubernetes.map((k) => [b, k] as const))) {
        say(`scale: ${count} canaries, batching ${batching}, API server ${kubernetes}, ${(args.durationMs / 1000).toFixed(0)} s window (load average ${loadAverage()})`);
        try {
          const r = await runScalePoint(count, {
            kubernetes,
            durationMs: args.durationMs,
            intervalSec: args.intervalSec,
            ...(args.concurrency ? { concurrency: args.concurrency } : {}),
            ...(args.controllerConfig ? { controllerConfig: args.controllerConfig } : {}),
            ...(batching !== 'off' ? { batchWindow: batching } : {}),
            log: say,
          });
          results.push(r);
          say(formatScaleTable([r]).split('\n').slice(2).join('\n'));
        } catch (err) {
          failures.push(`${count} (batching ${batching}, ${kubernetes}): ${errorMessage(err)}`);
          say(`  ${count}: failed: ${errorMessage(err)}`);
        }
      }
    }
    if (results.length) say(`\n${formatScaleTable(results)}\n${breakdownLines(results).join('\n')}`);
  }
  let detection: DetectionResult[] | undefined;
  if (args.detection) {
    say('detection: full sandbox, canary turned bad mid-rollout');
    detection = await runDetection({ log: say });
    say(formatDetection(detection));
  }
  if (args.write) {
    const path = resolve(process.cwd(), args.out);
    writeSection(path, SCALE_START, SCALE_END, section(args, `node dist/bench/scale.js${argv.length ? ` ${argv.join(' ')}` : ''}`, results, detection, failures));
    say(`wrote ${path}`);
  }
}

const invokedAs = process.argv[1] ? resolve(process.argv[1]) : '';
if (invokedAs === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2)).then(
    () => process.exit(0),
    (err: unknown) => {
      process.stderr.write(`bench failed: ${errorMessage(err)}\n`);
      process.exit(1);
    },
  );
}
