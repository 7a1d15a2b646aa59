/** Process-table reads from /proc (Linux), to check that a command leaves no process behind. */
import { readdirSync, readFileSync } from 'node:fs';
import { freeLoopbackPort } from '../../src/core/net.js';

interface ProcStat {
  pid: number;
  ppid: number;
  state: string;
}

function stat(pid: number): ProcStat | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name is in parentheses and may hold spaces; the fields after it are fixed.
    const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return { pid, state: rest[0] ?? '?', ppid: Number(rest[1]) };
  } catch {
    return undefined;
  }
}

/** Every live descendant of `pid` (children, grandchildren, ...). */
export function descendants(pid: number): number[] {
  const all = readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .map((d) => stat(Number(d)))
    .filter((s): s is ProcStat => s !== undefined);
  const out: number[] = [];
  const walk = (parent: number): void => {
    for (const s of all) {
      if (s.ppid === parent && s.state !== 'Z') {
        out.push(s.pid);
        walk(s.pid);
      }
    }
  };
  walk(pid);
  return out;
}

/** True while `pid` exists and is not a zombie (a zombie has ended; only its exit status is left). */
export function isRunning(pid: number): boolean {
  const s = stat(pid);
  return s !== undefined && s.state !== 'Z';
}

/** The command line of `pid`, or '' once it is gone. */
export function commandLine(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim();
  } catch {
    return '';
  }
}

/** A loopback port nothing listens on at the time of the call. */
export const freePort = freeLoopbackPort;
