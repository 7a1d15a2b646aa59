import { Option, type Command } from 'commander';
import { stringify as toYaml } from 'yaml';
import type { Canary } from '../../api/canary.js';
import { renderList, statusView } from '../render.js';
import { execute, prepare, processRuntime, type CliRuntime, type CommandContext } from './context.js';
import { EXIT } from './errors.js';

export interface ListOptions {
  allNamespaces?: boolean;
  output?: 'json' | 'yaml';
}

/** `routeshift list [-A]`: every Canary with namespace, name, phase, weight, failed checks and age. */
export async function list(ctx: CommandContext, opts: ListOptions = {}): Promise<number> {
  const res = await ctx.store.list(ctx.signal, opts.allNamespaces ? undefined : ctx.namespace);
  const items: Canary[] = res.items;
  if (opts.output) {
    const views = items.map((c) => statusView(c));
    ctx.io.out.write(opts.output === 'json' ? JSON.stringify(views, null, 2) + '\n' : toYaml(views));
    return EXIT.ok;
  }
  if (items.length === 0) {
    ctx.io.err.write(opts.allNamespaces ? 'No canaries found.\n' : `No canaries found in namespace "${ctx.namespace}".\n`);
    return EXIT.ok;
  }
  ctx.io.out.write(renderList(items, ctx.clock.now(), ctx.io.style));
  return EXIT.ok;
}

export function register(program: Command, runtime: CliRuntime = processRuntime()): Command {
  const cmd = program
    .command('list')
    .alias('ls')
    .description('list canaries with their phase, canary weight, failed checks and age')
    .option('-A, --all-namespaces', 'list canaries in every namespace')
    .addOption(new Option('-o, --output <format>', 'print as json or yaml (one status object per canary)').choices(['json', 'yaml']));
  prepare(cmd, runtime);
  cmd.action(async (opts: ListOptions, self: Command) => {
    await execute(runtime, self, undefined, (ctx) => list(ctx, { ...(opts.allNamespaces ? { allNamespaces: true } : {}), ...(opts.output ? { output: opts.output } : {}) }));
  });
  return cmd;
}
