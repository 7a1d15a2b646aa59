import type { Command } from 'commander';
import { ANNOTATIONS } from '../../api/canary.js';
import { execute, fetchCanary, prepare, processRuntime, type CliRuntime, type CommandContext } from './context.js';
import { EXIT } from './errors.js';
import { label, patchCanary, phaseOf, requestValue, rolloutInFlight } from './requests.js';

/**
 * `routeshift retry <canary>`: run the same stable/canary pair again. The retry annotation is part of
 * the revision, so a new value is a new revision and the controller starts a rollout.
 */
export async function retry(ctx: CommandContext, name: string): Promise<number> {
  const canary = await fetchCanary(ctx, name);
  const value = requestValue(ctx.clock.now(), canary.metadata.annotations?.[ANNOTATIONS.retry]);
  await patchCanary(ctx, canary, { [ANNOTATIONS.retry]: value });
  const note = rolloutInFlight(canary)
    ? ` (the rollout in progress, phase ${phaseOf(canary)}, starts over from its current weight)`
    : ` (last rollout: ${phaseOf(canary)})`;
  ctx.io.out.write(`${label(canary)}: retry requested (${ANNOTATIONS.retry}=${value}); the controller starts the rollout again${note}\n`);
  return EXIT.ok;
}

export function register(program: Command, runtime: CliRuntime = processRuntime()): Command {
  const cmd = program
    .command('retry')
    .description('start the rollout of the same revision again (e.g. after a failure)')
    .argument('<canary>', 'Canary name');
  prepare(cmd, runtime);
  cmd.action(async (name: string, _opts: unknown, self: Command) => {
    await execute(runtime, self, name, (ctx) => retry(ctx, name));
  });
  return cmd;
}
