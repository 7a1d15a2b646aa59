import { admits } from './severity.js';
import { slackPayload, escapeSlack } from './slack.js';
import { teamsPayload } from './msteams.js';
import { discordPayload, escapeDiscord } from './discord.js';
import { genericPayload } from './generic.js';
import { formatFor } from './format.js';
import { formatValue } from './render.js';
import type { RolloutNotification } from './types.js';

const rolledBack: RolloutNotification = {
  canary: { name: 'podinfo', namespace: 'test' },
  reason: 'RolledBack',
  message: 'request-success-rate 97.2 < 99 in 3 checks: traffic back on stable',
  severity: 'error',
  phase: 'Failed',
  weight: 0,
  revision: 'a1b2c3',
  time: '2026-01-01T00:00:00.000Z',
  metrics: [
    { name: 'request-success-rate', value: 97.2, threshold: '>= 99', verdict: 'fail' },
    { name: 'latency_p99', threshold: '<= 500', verdict: 'inconclusive' },
  ],
};

const advanced: RolloutNotification = {
  canary: { name: 'podinfo', namespace: 'test' },
  reason: 'WeightAdvanced',
  message: 'canary weight 20 -> 40',
  severity: 'info',
  phase: 'Progressing',
  weight: 40,
  time: '2026-01-01T00:01:00.000Z',
};

describe('severity filter', () => {
  it.each([
    [undefined, ['info', 'warn', 'error']],
    ['info', ['info', 'warn', 'error']],
    ['warn', ['warn', 'error']],
    ['error', ['error']],
  ] as const)('an alert with severity %s gets %j', (alertSeverity, wanted) => {
    const got = (['info', 'warn', 'error'] as const).filter((s) => admits({ severity: alertSeverity }, s));
    expect(got).toEqual(wanted);
  });
});

describe('Slack', () => {
  it('sends text, a summary block and a coloured attachment with fields', () => {
    expect(slackPayload(rolledBack)).toEqual({
      text: 'RolledBack: test/podinfo: request-success-rate 97.2 &lt; 99 in 3 checks: traffic back on stable',
      blocks: [
        {
          type: 'section',
          text: { type: 'mrkdwn', text: '*RolledBack* `test/podinfo`\nrequest-success-rate 97.2 &lt; 99 in 3 checks: traffic back on stable' },
        },
      ],
      attachments: [
        {
          color: '#A30200',
          fallback: 'RolledBack: test/podinfo: request-success-rate 97.2 &lt; 99 in 3 checks: traffic back on stable',
          blocks: [
            {
              type: 'section',
              fields: [
                { type: 'mrkdwn', text: '*Phase*\nFailed' },
                { type: 'mrkdwn', text: '*Weight*\n0%' },
                { type: 'mrkdwn', text: '*Revision*\na1b2c3' },
                { type: 'mrkdwn', text: '*Severity*\nerror' },
              ],
            },
            {
              type: 'section',
              fields: [
                { type: 'mrkdwn', text: '*request-success-rate*\n97.2 (&gt;= 99): fail' },
                { type: 'mrkdwn', text: '*latency_p99*\nno value (&lt;= 500): inconclusive' },
              ],
            },
            { type: 'context', elements: [{ type: 'mrkdwn', text: 'routeshift · 2026-01-01T00:00:00.000Z' }] },
          ],
        },
      ],
    });
  });

  it('colours by severity and leaves out absent revision and metrics', () => {
    const p = slackPayload(advanced) as { attachments: Array<{ color: string; blocks: Array<{ type: string; fields?: unknown[] }> }> };
    expect(p.attachments[0]?.color).toBe('#2EB886');
    expect((slackPayload({ ...advanced, severity: 'warn' }) as typeof p).attachments[0]?.color).toBe('#DAA038');
    expect(p.attachments[0]?.blocks.map((b) => b.type)).toEqual(['section', 'context']);
    expect(p.attachments[0]?.blocks[0]?.fields).toHaveLength(3);
  });

  it('keeps sections within 10 fields', () => {
    const metrics = Array.from({ length: 23 }, (_, i) => ({ name: `m${i}`, value: i, threshold: '<= 1', verdict: 'pass' }));
    const p = slackPayload({ ...advanced, metrics }) as { attachments: Array<{ blocks: Array<{ fields?: unknown[] }> }> };
    expect(p.attachments[0]?.blocks.map((b) => b.fields?.length)).toEqual([3, 10, 10, 3, undefined]);
  });

  it('escapes Slack control characters', () => {
    expect(escapeSlack('<!channel> & <@U1>')).toBe('&lt;!channel&gt; &amp; &lt;@U1&gt;');
  });
});

describe('Microsoft Teams', () => {
  it('sends a message with one Adaptive Card 1.4 attachment', () => {
    expect(teamsPayload(rolledBack)).toEqual({
      type: 'message',
      attachments: [
        {
          contentType: 'application/vnd.microsoft.card.adaptive',
          contentUrl: null,
          content: {
            $schema: 'http://adaptivecards.io/schemas/adaptive-card.json',
            type: 'AdaptiveCard',
            version: '1.4',
            msteams: { width: 'Full' },
            body: [
              {
                type: 'Container',
                style: 'attention',
                bleed: true,
                items: [{ type: 'TextBlock', text: 'RolledBack: test/podinfo', weight: 'Bolder', size: 'Medium', wrap: true }],
              },
              { type: 'TextBlock', text: rolledBack.message, wrap: true },
              {
                type: 'FactSet',
                facts: [
                  { title: 'Phase', value: 'Failed' },
                  { title: 'Weight', value: '0%' },
                  { title: 'Revision', value: 'a1b2c3' },
                  { title: 'Severity', value: 'error' },
                ],
              },
              { type: 'TextBlock', text: 'Metrics', weight: 'Bolder', wrap: true, spacing: 'Medium' },
              {
                type: 'FactSet',
                facts: [
                  { title: 'request-success-rate', value: '97.2 (>= 99): fail' },
                  { title: 'latency_p99', value: 'no value (<= 500): inconclusive' },
                ],
              },
              { type: 'TextBlock', text: 'routeshift · 2026-01-01T00:00:00.000Z', isSubtle: true, size: 'Small', wrap: true },
            ],
          },
        },
      ],
    });
  });

  it('styles the heading by severity and skips the metrics section without metrics', () => {
    type Card = { attachments: Array<{ content: { body: Array<{ type: string; style?: string; text?: string }> } }> };
    const info = teamsPayload(advanced) as Card;
    const warn = teamsPayload({ ...advanced, severity: 'warn' }) as Card;
    expect(info.attachments[0]?.content.body[0]?.style).toBe('good');
    expect(warn.attachments[0]?.content.body[0]?.style).toBe('warning');
    expect(info.attachments[0]?.content.body.map((b) => b.type)).toEqual(['Container', 'TextBlock', 'FactSet', 'TextBlock']);
  });
});

describe('Discord', () => {
  it('sends content and one coloured embed with fields', () => {
    expect(discordPayload(rolledBack)).toEqual({
      content: 'RolledBack: test/podinfo',
      allowed_mentions: { parse: [] },
      embeds: [
        {
          title: 'RolledBack: test/podinfo',
          description: rolledBack.message,
          color: 0xa30200,
          timestamp: '2026-01-01T00:00:00.000Z',
          fields: [
            { name: 'Phase', value: 'Failed', inline: true },
            { name: 'Weight', value: '0%', inline: true },
            { name: 'Revision', value: 'a1b2c3', inline: true },
            { name: 'Severity', value: 'error', inline: true },
            { name: 'request-success-rate', value: '97.2 (>= 99): fail', inline: false },
            { name: 'latency\\_p99', value: 'no value (<= 500): inconclusive', inline: false },
          ],
          footer: { text: 'routeshift' },
        },
      ],
    });
  });

  it('escapes markdown, and line-start markers only at the start of a line', () => {
    expect(escapeDiscord('p_99 *x* `y` a|b ~z~ \\')).toBe('p\\_99 \\*x\\* \\`y\\` a\\|b \\~z\\~ \\\\');
    expect(escapeDiscord('> quoted\n# head\n- item a-b >= 1')).toBe('\\> quoted\n\\# head\n\\- item a-b >= 1');
  });

  it('colours by severity and caps fields at 25', () => {
    type Msg = { embeds: Array<{ color: number; fields: unknown[] }> };
    const metrics = Array.from({ length: 40 }, (_, i) => ({ name: `m${i}`, value: i, threshold: '<= 1', verdict: 'pass' }));
    expect((discordPayload(advanced) as Msg).embeds[0]?.color).toBe(0x2eb886);
    expect((discordPayload({ ...advanced, severity: 'warn' }) as Msg).embeds[0]?.color).toBe(0xdaa038);
    expect((discordPayload({ ...advanced, metrics }) as Msg).embeds[0]?.fields).toHaveLength(25);
  });
});

describe('generic', () => {
  it('sends the notification itself', () => {
    expect(genericPayload(rolledBack)).toEqual(rolledBack);
    expect(genericPayload(rolledBack)).not.toBe(rolledBack);
    expect(JSON.parse(JSON.stringify(formatFor('generic', rolledBack)))).toEqual(rolledBack);
  });

  it('formatFor picks the provider format', () => {
    expect(formatFor('slack', rolledBack)).toEqual(slackPayload(rolledBack));
    expect(formatFor('msteams', rolledBack)).toEqual(teamsPayload(rolledBack));
    expect(formatFor('discord', rolledBack)).toEqual(discordPayload(rolledBack));
  });
});

describe('values', () => {
  it.each([
    [undefined, 'no value'],
    [NaN, 'no value'],
    [99, '99'],
    [0.123456, '0.1235'],
    [Infinity, '+Inf'],
  ])('%p reads %s', (v, s) => {
    expect(formatValue(v)).toBe(s);
  });
});
