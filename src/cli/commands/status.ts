import { Option, type Command } from 'commander';
import { stringify as toYaml } from 'yaml';
import type { Canary } from '../../api/canary.js';
import { errorMessage } from '../../core/errors.js';
import type { EventSummary } from '../render.js';
import { recentEvents, renderStatus, statusView } from '../render.js';
import { execute, fetchCanary, prepare, processRuntime, type CliRuntime, type CommandContext } from './context.js';
import { EXIT } from './errors.js';

export interface StatusOptions {
  output?: 'json' | 'yaml';
}

/** How many Events status shows. */
export const STATUS_EVENTS = 10;

/** Events about this Canary (not an earlier one of the same name), the last `limit` by time. */
export function eventsFor(canary: Canary, events: EventSummary[], limit = STATUS_EVENTS): EventSummary[] {
  const uid = canary.metadata.uid;
  return recentEvents(
    events.filter((e) => !uid || !e.involvedUid || e.involvedUid === uid),
    limit,
  );
}

/** `routeshift status <canary>`: phase, weights, step, checks, metrics, conditions and recent Events. */
export async function status(ctx: CommandContext, name: string, opts: StatusOptions = {}): Promise<number> {
  // Events are context, not the answer: without permission to list them, status still shows the Canary.
  const events = ctx.events.list(ctx.namespace, name, ctx.signal).then(
    (r) => r.items,
    (err: unknown) => err,
  );
  const canary = await fetchCanary(ctx, name);
  const listed = await events;
  if (!Array.isArray(listed)) ctx.io.err.write(`warning: cannot list Events (${errorMessage(listed)}); showing the Canary without them\n`);
  const view = statusView(canary, eventsFor(canary, Array.isArray(listed) ? listed : []));
  if (opts.output === 'json') ctx.io.out.write(JSON.stringify(view, null, 2) + '\n');
  else if (opts.output === 'yaml') ctx.io.out.write(toYaml(view));
  else ctx.io.out.write(renderStatus(view, ctx.clock.now(), ctx.io.style));
  return EXIT.ok;
}

export function register(program: Command, runtime: CliRuntime = processRuntime()): Command {
  const cmd = program
    .command('status')
    .description('show a canary: phase, weights, step, failed checks, metrics against thresholds, conditions and recent events')
    .argument('<canary>', 'Canary name')
    .addOption(new Option('-o, --output <format>', 'print the status as json or yaml').choices(['json', 'yaml']));
  prepare(cmd, runtime);
  cmd.action(async (name: string, opts: StatusOptions, self: Command) => {
    await execute(runtime, self, name, (ctx) => status(ctx, name, opts.output ? { output: opts.output } : {}));
  });
  return cmd;
}
