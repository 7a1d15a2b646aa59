import type { Command } from 'commander';
import { ANNOTATIONS } from '../../api/canary.js';
import { execute, fetchCanary, prepare, processRuntime, type CliRuntime, type CommandContext } from './context.js';
import { EXIT, UsageError } from './errors.js';
import { label, patchCanary, phaseOf, requestValue, rolloutInFlight } from './requests.js';

export interface PromoteOptions {
  yes?: boolean;
}

/**
 * `routeshift promote <canary> --yes`: skip the remaining steps and send all traffic to the canary.
 * Also approves manual gates, so a rollout waiting at a confirm gate goes on.
 */
export async function promote(ctx: CommandContext, name: string, opts: PromoteOptions = {}): Promise<number> {
  if (!opts.yes) {
    throw new UsageError(
      `promote skips the remaining analysis steps of canary "${name}" and moves all traffic to it; ` +
        'add --yes to confirm (nothing was changed)',
    );
  }
  const canary = await fetchCanary(ctx, name);
  const phase = canary.status?.phase;
  if (phase === 'Promoting') {
    ctx.io.out.write(`${label(canary)} is already being promoted; nothing to do\n`);
    return EXIT.ok;
  }
  if (phase === 'RollingBack' || !rolloutInFlight(canary)) {
    // The controller reads a promote request in the next analysis; left here it would promote the next rollout unseen.
    throw new UsageError(
      `${label(canary)} has no rollout in progress (phase ${phaseOf(canary)}); promote applies to a running rollout, ` +
        'so nothing was changed (to run this revision again: routeshift retry)',
    );
  }
  const a = canary.metadata.annotations ?? {};
  const handled = canary.status?.handledAnnotations ?? {};
  const now = ctx.clock.now();
  const promoteValue = requestValue(now, a[ANNOTATIONS.promote], handled[ANNOTATIONS.promote]);
  const approveValue = requestValue(now, a[ANNOTATIONS.approve], handled[ANNOTATIONS.approve]);
  await patchCanary(ctx, canary, { [ANNOTATIONS.promote]: promoteValue, [ANNOTATIONS.approve]: approveValue });
  ctx.io.out.write(
    `${label(canary)}: promotion requested (${ANNOTATIONS.promote}=${promoteValue}, ${ANNOTATIONS.approve}=${approveValue}); ` +
      'the controller skips the remaining steps at its next analysis\n',
  );
  return EXIT.ok;
}

export function register(program: Command, runtime: CliRuntime = processRuntime()): Command {
  const cmd = program
    .command('promote')
    .description('skip the remaining steps and promote the canary (also opens manual gates); needs --yes')
    .argument('<canary>', 'Canary name')
    .option('-y, --yes', 'confirm: send all traffic to the canary');
  prepare(cmd, runtime);
  cmd.action(async (name: string, opts: PromoteOptions, self: Command) => {
    await execute(runtime, self, name, (ctx) => promote(ctx, name, { yes: opts.yes === true }));
  });
  return cmd;
}
