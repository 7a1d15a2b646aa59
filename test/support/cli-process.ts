/**
 * `node dist/cli/main.js <args>` as a child process, as a user or a CI job runs it: exit code,
 * stdout and stderr (`entry: 'dist/sandbox/cli.js'` for the developer tools). Needs `npm run build`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fromRoot } from '../../src/core/paths.js';

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface CliProcess {
  child: ChildProcess;
  /** Output so far (grows while the process runs). */
  stdout(): string;
  stderr(): string;
  done: Promise<CliResult>;
  /** Sends `signal` (default SIGTERM) unless the process has ended; resolves when it has. */
  stop(signal?: NodeJS.Signals): Promise<CliResult>;
}

export interface CliOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** The compiled CLI to run, from the package root (default the product CLI, dist/cli/main.js). */
  entry?: string;
}

export function startCli(args: string[], opts: CliOptions = {}): CliProcess {
  const child = spawn(process.execPath, [fromRoot(opts.entry ?? 'dist/cli/main.js'), ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    // NODE_OPTIONS: jest's --experimental-vm-modules would make the CLI print a warning on stderr.
    env: { ...process.env, NO_COLOR: '1', NODE_OPTIONS: '', ...opts.env },
    ...(opts.cwd ? { cwd: opts.cwd } : {}),
  });
  let out = '';
  let err = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
  const done = new Promise<CliResult>((resolve) => {
    child.once('close', (code, signal) => resolve({ code, signal, stdout: out, stderr: err }));
  });
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    done,
    stop(signal: NodeJS.Signals = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return done;
    },
  };
}

/** Runs a one-shot command to its end; kills it (and says so in stderr) after `timeoutMs`. */
export async function runCli(args: string[], opts: CliOptions & { timeoutMs?: number } = {}): Promise<CliResult> {
  const p = startCli(args, opts);
  const timer = setTimeout(() => p.child.kill('SIGKILL'), opts.timeoutMs ?? 60_000);
  try {
    return await p.done;
  } finally {
    clearTimeout(timer);
  }
}
