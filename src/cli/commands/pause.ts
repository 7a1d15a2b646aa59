import type { Command } from 'commander';
import { execute, fetchCanary, prepare, processRuntime, type CliRuntime, type CommandContext } from './context.js';
import { EXIT } from './errors.js';
import { label, patchCanary } from './requests.js';

/** `routeshift pause <canary>`: spec.suspend=true; the controller holds the weights where they are. */
export async function pause(ctx: CommandContext, name: string): Promise<number> {
  const canary = await fetchCanary(ctx, name);
  if (canary.spec.suspend === true) {
    ctx.io.out.write(`${label(canary)} is already paused (spec.suspend=true); nothing to do\n`);
    return EXIT.ok;
  }
  await patchCanary(ctx, canary, {}, { suspend: true });
  ctx.io.out.write(`${label(canary)}: paused (spec.suspend=true); the weights stay at canary ${canary.status?.canaryWeight ?? 0} until resume\n`);
  return EXIT.ok;
}

export function register(program: Command, runtime: CliRuntime = processRuntime()): Command {
  const cmd = program.command('pause').description('hold the rollout at its current weight (spec.suspend=true)').argument('<canary>', 'Canary name');
  prepare(cmd, runtime);
  cmd.action(async (name: string, _opts: unknown, self: Command) => {
    await execute(runtime, self, name, (ctx) => pause(ctx, name));
  });
  return cmd;
}
