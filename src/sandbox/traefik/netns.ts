import { execFileSync } from 'node:child_process';
import { RouteshiftError } from '../../core/errors.js';

/** The pod range the pod agent hands out (PodIpPool); made local on the namespace's loopback. */
export const POD_RANGE = '10.244.0.0/16';

export class NetnsError extends RouteshiftError {
  constructor(message: string) {
    super('NetworkNamespace', message);
  }
}

/**
 * True when this process runs in a network namespace of its own: one whose only interface is
 * loopback, as `unshare -n` makes it. The pod range is added to loopback only there: doing it in the
 * host's namespace would change the machine, and with no other interface nothing can leave.
 * (PID 1's namespace link is not readable in every sandbox, so it is not what this compares.)
 */
export function inPrivateNetns(): boolean {
  try {
    return onlyLoopback(execFileSync('ip', ['-o', 'link', 'show'], { encoding: 'utf8' }));
  } catch {
    return false;
  }
}

/** Whether `ip -o link show` lists loopback and nothing else. */
export function onlyLoopback(ipLinkOutput: string): boolean {
  const links = ipLinkOutput
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => l.split(':')[1]?.trim().split('@')[0]);
  return links.length === 1 && links[0] === 'lo';
}

/**
 * Brings loopback up and puts the pod range on it, so pods can listen on their own IPs and a proxy in
 * the same namespace reaches them. Nothing leaves the namespace: it has no other interface.
 */
export function preparePodNetwork(): void {
  if (!inPrivateNetns()) {
    throw new NetnsError('refusing to add the pod range to loopback outside a private network namespace: run under `unshare -n` (as root)');
  }
  const ip = (...args: string[]): void => {
    try {
      execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });
    } catch (err) {
      const stderr = (err as { stderr?: Buffer }).stderr?.toString().trim();
      throw new NetnsError(`ip ${args.join(' ')} failed: ${stderr || (err as Error).message}`);
    }
  };
  ip('link', 'set', 'lo', 'up');
  ip('addr', 'add', POD_RANGE, 'dev', 'lo');
}
