/**
 * `unshare -n node dist/sandbox/traefik/scenario-main.js <result.json>`: runs the Traefik scenario in
 * the private network namespace `unshare` made, writes what it observed as JSON, exits 0 (or 1 with
 * the error on stderr). The namespace and everything in it go away with the process.
 */
import { createWriteStream, writeFileSync } from 'node:fs';
import { createLogger } from '../../core/logger.js';
import { errorMessage } from '../../core/errors.js';
import { runTraefikScenario } from './scenario.js';

const out = process.argv[2];
if (!out) {
  process.stderr.write('usage: unshare -n node scenario-main.js <result.json> [log-file]\n');
  process.exit(2);
}
const logFile = process.argv[3];
const logger = createLogger('info', logFile ? createWriteStream(logFile) : process.stderr);
try {
  const result = await runTraefikScenario({ logger, keepDir: process.env['ROUTESHIFT_KEEP'] === '1' });
  writeFileSync(out, JSON.stringify(result, null, 2));
  process.exit(0);
} catch (err) {
  process.stderr.write(`traefik scenario failed: ${errorMessage(err)}\n${(err as Error).stack ?? ''}\n`);
  process.exit(1);
}
