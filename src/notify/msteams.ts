import { facts, metricLine, title, truncate } from './render.js';
import type { RolloutNotification, Severity } from './types.js';

/**
 * Microsoft Teams message carrying one Adaptive Card. Both Teams receivers take this envelope: the
 * Workflows "When a Teams webhook request is received" trigger (the replacement for Office 365
 * connectors, which accept no MessageCard) and the remaining incoming webhooks. The card is version
 * 1.4 because Workflows' "post card" refuses later versions, and it uses nothing newer.
 */
export function teamsPayload(n: RolloutNotification): Record<string, unknown> {
  const body: Array<Record<string, unknown>> = [
    {
      type: 'Container',
      style: CONTAINER_STYLE[n.severity],
      bleed: true,
      items: [{ type: 'TextBlock', text: title(n), weight: 'Bolder', size: 'Medium', wrap: true }],
    },
    { type: 'TextBlock', text: truncate(n.message, 4000), wrap: true },
    { type: 'FactSet', facts: facts(n).map((f) => ({ title: f.label, value: f.value })) },
  ];
  if (n.metrics?.length) {
    body.push({ type: 'TextBlock', text: 'Metrics', weight: 'Bolder', wrap: true, spacing: 'Medium' });
    body.push({ type: 'FactSet', facts: n.metrics.map((m) => ({ title: m.name, value: metricLine(m) })) });
  }
  body.push({ type: 'TextBlock', text: `routeshift · ${n.time}`, isSubtle: true, size: 'Small', wrap: true });
  return {
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
          body,
        },
      },
    ],
  };
}

/** Container styles colour the heading band: green, amber, red. */
const CONTAINER_STYLE: Record<Severity, string> = { info: 'good', warn: 'warning', error: 'attention' };
