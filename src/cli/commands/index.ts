import type { Command } from 'commander';
import { register as registerAbort } from './abort.js';
import { processRuntime, type CliRuntime } from './context.js';
import { register as registerList } from './list.js';
import { register as registerPause } from './pause.js';
import { register as registerPromote } from './promote.js';
import { register as registerResume } from './resume.js';
import { register as registerRetry } from './retry.js';
import { register as registerStatus } from './status.js';
import { register as registerWatch } from './watch.js';

export { abort } from './abort.js';
export { list } from './list.js';
export { pause } from './pause.js';
export { promote } from './promote.js';
export { resume } from './resume.js';
export { retry } from './retry.js';
export { status } from './status.js';
export { watch, rolloutOutcome, exitCodeForPhase } from './watch.js';
export { EXIT } from './errors.js';
export { processRuntime, type CliRuntime, type CommandContext } from './context.js';

/** Adds the operator commands (status, watch, list, promote, abort, retry, pause, resume) to `program`. */
export function registerOperatorCommands(program: Command, runtime: CliRuntime = processRuntime()): Command {
  for (const register of [registerStatus, registerWatch, registerList, registerPromote, registerAbort, registerRetry, registerPause, registerResume]) {
    register(program, runtime);
  }
  return program;
}
