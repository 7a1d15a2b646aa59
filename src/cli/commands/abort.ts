import type { Command } from 'commander';
import { ANNOTATIONS } from '../../api/canary.js';
import { execute, fetchCanary, prepare, processRuntime, type CliRuntime, type CommandContext } from './context.js';
import { EXIT, UsageError } from './errors.js';
import { label, patchCanary, phaseOf, requestValue, rolloutInFlight } from './requests.js';

/** `routeshift abort <canary>`: roll back now (all traffic to stable). */
export async function abort(ctx: CommandContext, name: string): Promise<number> {
  const canary = await fetchCanary(ctx, name);
  if (canary.status?.phase === 'RollingBack') {
    ctx.io.out.write(`${label(canary)} is already rolling back; nothing to do\n`);
    return EXIT.ok;
  }
  if (!rolloutInFlight(canary)) {
    // Left on an idle Canary, the request would abort the next rollout the moment it starts.
    throw new UsageError(`${label(canary)} has no rollout in progress (phase ${phaseOf(canary)}); nothing to abort, nothing was changed`);
  }
  const previous = [canary.metadata.annotations?.[ANNOTATIONS.abort], canary.status?.handledAnnotations?.[ANNOTATIONS.abort]];
  const value = requestValue(ctx.clock.now(), ...previous);
  await patchCanary(ctx, canary, { [ANNOTATIONS.abort]: value });
  ctx.io.out.write(`${label(canary)}: rollback requested (${ANNOTATIONS.abort}=${value}); the controller moves all traffic to stable\n`);
  return EXIT.ok;
}

export function register(program: Command, runtime: CliRuntime = processRuntime()): Command {
  const cmd = program.command('abort').description('roll the canary back now (all traffic to stable)').argument('<canary>', 'Canary name');
  prepare(cmd, runtime);
  cmd.action(async (name: string, _opts: unknown, self: Command) => {
    await execute(runtime, self, name, (ctx) => abort(ctx, name));
  });
  return cmd;
}
