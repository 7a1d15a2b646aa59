import { readFileSync } from 'node:fs';
import { discordPayload } from './discord.js';
import { teamsPayload } from './msteams.js';
import { slackPayload } from './slack.js';
import type { RolloutNotification } from './types.js';

// docs/webhooks.md shows one notification in every format; this keeps the examples true to the code.
const doc = readFileSync(new URL('../../docs/webhooks.md', import.meta.url), 'utf8');

function exampleAfter(heading: string): unknown {
  const at = doc.indexOf(`\n${heading}\n`);
  if (at < 0) throw new Error(`no "${heading}" in docs/webhooks.md`);
  const block = /```json\n([\s\S]*?)```/.exec(doc.slice(at));
  if (!block?.[1]) throw new Error(`no json example after "${heading}"`);
  return JSON.parse(block[1]);
}

describe('docs/webhooks.md examples', () => {
  const n = exampleAfter('### generic') as RolloutNotification;

  it('the generic example is a whole notification', () => {
    expect(Object.keys(n).sort()).toEqual(['canary', 'message', 'metrics', 'phase', 'reason', 'revision', 'severity', 'time', 'weight']);
  });

  it.each([
    ['### Slack', slackPayload],
    ['### Microsoft Teams', teamsPayload],
    ['### Discord', discordPayload],
  ] as const)('%s shows what routeshift sends', (heading, format) => {
    expect(exampleAfter(heading)).toEqual(format(n));
  });
});
