import type { Command } from 'commander';
import { ANNOTATIONS } from '../../api/canary.js';
import { execute, fetchCanary, prepare, processRuntime, type CliRuntime, type CommandContext } from './context.js';
import { EXIT } from './errors.js';
import { label, patchCanary, requestValue } from './requests.js';

/**
 * `routeshift resume <canary>`: spec.suspend=false, and approve manual gates (a rollout waiting at a
 * confirm-* hook without a URL goes on).
 */
export async function resume(ctx: CommandContext, name: string): Promise<number> {
  const canary = await fetchCanary(ctx, name);
  const previous = [canary.metadata.annotations?.[ANNOTATIONS.approve], canary.status?.handledAnnotations?.[ANNOTATIONS.approve]];
  const value = requestValue(ctx.clock.now(), ...previous);
  await patchCanary(ctx, canary, { [ANNOTATIONS.approve]: value }, { suspend: false });
  const was = canary.spec.suspend === true ? 'resumed (spec.suspend=false)' : 'not paused (spec.suspend already false)';
  ctx.io.out.write(`${label(canary)}: ${was}; manual gates approved (${ANNOTATIONS.approve}=${value})\n`);
  return EXIT.ok;
}

export function register(program: Command, runtime: CliRuntime = processRuntime()): Command {
  const cmd = program
    .command('resume')
    .description('continue a paused rollout (spec.suspend=false) and approve manual gates')
    .argument('<canary>', 'Canary name');
  prepare(cmd, runtime);
  cmd.action(async (name: string, _opts: unknown, self: Command) => {
    await execute(runtime, self, name, (ctx) => resume(ctx, name));
  });
  return cmd;
}
