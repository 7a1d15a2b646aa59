import type { Command } from 'commander';

/**
 * The operator commands (status, watch, list, promote, abort, retry, pause, resume) live one per file
 * in ./commands/; each exports `register(program)`. They are loaded here so main.ts stays a list.
 */
const COMMANDS = ['status', 'watch', 'list', 'promote', 'abort', 'retry', 'pause', 'resume'];

export async function registerOperatorCommands(program: Command): Promise<void> {
  for (const name of COMMANDS) {
    try {
      const mod = (await import(`./commands/${name}.js`)) as { register?: (p: Command) => void };
      mod.register?.(program);
    } catch (err) {
      if ((err as { code?: string }).code !== 'ERR_MODULE_NOT_FOUND') throw err;
    }
  }
}
