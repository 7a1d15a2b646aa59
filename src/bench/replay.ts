/**
 * Replay benchmark: a week at 1-minute intervals with 2 metrics against a local Prometheus (Debian's),
 * filled with src/sandbox/history.ts quietWeek through promtool. Times `routeshift replay` end to end (the
 * CLI as a user runs it: start-up, validation, reads, decisions, JSON out) with range reads, and one day
 * with instant reads for comparison. Prints the figures; docs/replay.md quotes them.
 *
 *   npm run build && node dist/bench/replay.js [--runs 3]
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '../core/logger.js';
import { fromRoot } from '../core/paths.js';
import { createBlocks, quietWeek, writeOpenMetrics } from '../sandbox/history.js';
import { startPrometheus } from '../sandbox/prometheus.js';

const CANARY = `apiVersion: routeshift.io/v1alpha1
kind: Canary
metadata: { name: web, namespace: shop }
spec:
  provider: app
  routeRef: { name: web }
  stable: { name: web-stable, port: 80 }
  canary: { name: web-canary, port: 80 }
  analysis:
    interval: 1m
    threshold: 5
    stepWeights: [10, 25, 50, 75]
    metrics:
      - name: request-success-rate
        thresholdRange: { min: 99 }
      - name: request-duration
        thresholdRange: { max: 500 }
`;

function runCli(args: string[]): Promise<{ ms: number; code: number | null; stdout: string; stderr: string }> {
  const started = performance.now();
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [fromRoot('dist/cli/main.js'), ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NODE_OPTIONS: '' } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => resolve({ ms: performance.now() - started, code, stdout, stderr }));
  });
}

async function main(): Promise<void> {
  const runs = Number(process.argv[process.argv.indexOf('--runs') + 1]) || 3;
  const dir = mkdtempSync(join(tmpdir(), 'routeshift-bench-replay-'));
  const end = Math.floor(Date.now() / 3_600_000) * 3_600_000 - 3_600_000;
  const history = quietWeek(end);
  let t = performance.now();
  const { samples } = await writeOpenMetrics(join(dir, 'week.om'), history);
  const writeMs = performance.now() - t;
  t = performance.now();
  await createBlocks(join(dir, 'week.om'), join(dir, 'data'));
  const blocksMs = performance.now() - t;
  const prom = await startPrometheus({ dataDir: join(dir, 'data'), targets: [], logger: silentLogger() });
  try {
    const file = join(dir, 'canary.yaml');
    writeFileSync(file, CANARY);
    const iso = (x: number): string => new Date(x).toISOString();
    const week = ['replay', '-f', file, '--from', iso(history.start), '--to', iso(end), '--prometheus', prom.url, '-o', 'json'];
    const times: number[] = [];
    let intervals = 0;
    for (let i = 0; i < runs; i++) {
      const r = await runCli(week);
      if (r.code !== 0) throw new Error(`replay failed (${r.code}): ${r.stderr}`);
      intervals = (JSON.parse(r.stdout) as { summary: { intervals: number } }).summary.intervals;
      times.push(r.ms);
    }
    const day = ['replay', '-f', file, '--from', iso(end - 86_400_000), '--to', iso(end), '--prometheus', prom.url, '-o', 'json'];
    const dayRange = await runCli(day);
    const dayInstant = await runCli([...day, '--no-range']);
    const s = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;
    const sorted = [...times].sort((a, b) => a - b);
    console.log(`machine: ${cpus()[0]?.model ?? '?'} (${cpus().length} cores), ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}; load ${loadavg().map((x) => x.toFixed(1)).join(' / ')}`);
    console.log(`history: ${samples} OpenMetrics lines written in ${s(writeMs)}, promtool blocks in ${s(blocksMs)}`);
    console.log(`week, 1m interval, 2 metrics, range reads: ${intervals} intervals; ${runs} runs: median ${s(sorted[Math.floor(runs / 2)] as number)}, min ${s(sorted[0] as number)}, max ${s(sorted[runs - 1] as number)}`);
    console.log(`one day: range reads ${s(dayRange.ms)}, instant reads (--no-range) ${s(dayInstant.ms)}`);
  } finally {
    await prom.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
