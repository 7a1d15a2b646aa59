import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, readFileSync } from 'node:fs';
import { RouteshiftError } from '../../core/errors.js';

/** Children still running, so one exit hook can kill them if the test process ends without stop(). */
const live = new Set<ChildProcess>();
let hooked = false;
function track(child: ChildProcess): void {
  live.add(child);
  child.once('exit', () => live.delete(child));
  if (hooked) return;
  hooked = true;
  process.on('exit', () => {
    for (const c of live) c.kill('SIGKILL');
  });
}

export class ControlPlaneStartError extends RouteshiftError {
  constructor(message: string) {
    super('ControlPlaneStartFailed', message);
  }
}

/** One control-plane process with its output in a log file (the last lines go into start errors). */
export class Child {
  readonly process: ChildProcess;
  private exited: Promise<void>;

  constructor(
    readonly name: string,
    binary: string,
    args: string[],
    readonly logFile: string,
  ) {
    const log = createWriteStream(logFile, { flags: 'a' });
    this.process = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.process.stdout?.pipe(log);
    this.process.stderr?.pipe(log);
    track(this.process);
    this.exited = new Promise((resolve) => this.process.once('exit', () => resolve()));
  }

  get running(): boolean {
    return this.process.exitCode === null && this.process.signalCode === null;
  }

  /** The log's last lines, for an error message. */
  tail(lines = 15): string {
    try {
      return readFileSync(this.logFile, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
    } catch {
      return '';
    }
  }

  /** SIGTERM, then SIGKILL if it has not ended within `graceMs`. */
  async stop(graceMs = 5000): Promise<void> {
    if (!this.running) return;
    this.process.kill('SIGTERM');
    const timer = setTimeout(() => this.process.kill('SIGKILL'), graceMs);
    await this.exited;
    clearTimeout(timer);
  }
}
