import { facts, metricLine, SEVERITY_COLOR, title, truncate } from './render.js';
import type { RolloutNotification } from './types.js';

/**
 * Slack incoming-webhook message. `text` is what notifications and old clients show; `blocks` carry the
 * summary; the colour bar only exists on (legacy, still supported) attachments, so the details go in one
 * attachment whose `color` follows the severity. Limits honoured: 3000 chars per text, 10 fields per
 * section, 2000 per field.
 */
export function slackPayload(n: RolloutNotification): Record<string, unknown> {
  const color = SEVERITY_COLOR[n.severity];
  const summary = escapeSlack(truncate(`${title(n)}: ${n.message}`, 2900));
  const factFields = facts(n).map((f) => field(f.label, f.value));
  const metricFields = (n.metrics ?? []).slice(0, MAX_METRICS).map((m) => field(m.name, metricLine(m)));
  const extra = (n.metrics?.length ?? 0) - MAX_METRICS;
  const details: Array<Record<string, unknown>> = [{ type: 'section', fields: factFields }];
  for (let i = 0; i < metricFields.length; i += 10) details.push({ type: 'section', fields: metricFields.slice(i, i + 10) });
  const context = `routeshift · ${n.time}${extra > 0 ? ` · ${extra} more metrics not shown` : ''}`;
  details.push({ type: 'context', elements: [{ type: 'mrkdwn', text: escapeSlack(context) }] });
  return {
    text: summary,
    blocks: [
      {
        type: 'section',
        text: {
          type: 'mrkdwn',
          text: `*${escapeSlack(n.reason)}* \`${escapeSlack(`${n.canary.namespace}/${n.canary.name}`)}\`\n${escapeSlack(truncate(n.message, 2800))}`,
        },
      },
    ],
    attachments: [{ color, fallback: summary, blocks: details }],
  };
}

const MAX_METRICS = 40;

function field(label: string, value: string): { type: 'mrkdwn'; text: string } {
  return { type: 'mrkdwn', text: `*${escapeSlack(truncate(label, 200))}*\n${escapeSlack(truncate(value, 1700))}` };
}

/** Slack reads &, < and > as markup (links, mentions); they must be sent as entities. */
export function escapeSlack(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}
