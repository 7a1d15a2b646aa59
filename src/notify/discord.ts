import { facts, metricLine, SEVERITY_COLOR, title, truncate } from './render.js';
import type { RolloutNotification } from './types.js';

/**
 * Discord webhook message: a one-line `content` plus one embed whose `color` (an integer) follows the
 * severity. Limits honoured: content 2000, title 256, description 4096, 25 fields of 256/1024 chars.
 * Mentions are switched off so a message quoting "@everyone" pings nobody.
 */
export function discordPayload(n: RolloutNotification): Record<string, unknown> {
  const fields = [
    ...facts(n).map((f) => ({ name: f.label, value: escapeDiscord(f.value), inline: true })),
    ...(n.metrics ?? []).map((m) => ({
      name: escapeDiscord(truncate(m.name, 250)),
      value: escapeDiscord(truncate(metricLine(m), 1000)),
      inline: false,
    })),
  ].slice(0, 25);
  return {
    content: escapeDiscord(truncate(title(n), 1900)),
    allowed_mentions: { parse: [] },
    embeds: [
      {
        title: escapeDiscord(truncate(title(n), 240)),
        description: escapeDiscord(truncate(n.message, 3900)),
        color: Number.parseInt(SEVERITY_COLOR[n.severity].slice(1), 16),
        timestamp: n.time,
        fields,
        footer: { text: 'routeshift' },
      },
    ],
  };
}

/**
 * Discord renders markdown in content, embeds and fields: a metric named "p_99" must not turn italic.
 * Quote, heading and list markers only count at the start of a line.
 */
export function escapeDiscord(s: string): string {
  return s.replace(/[\\*_~`|]/g, '\\$&').replace(/^([>#-])/gm, '\\$1');
}
