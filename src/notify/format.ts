import { discordPayload } from './discord.js';
import { genericPayload } from './generic.js';
import { teamsPayload } from './msteams.js';
import { slackPayload } from './slack.js';
import type { AlertProvider, RolloutNotification } from './types.js';

/** The JSON body for `provider`. */
export function formatFor(provider: AlertProvider, n: RolloutNotification): unknown {
  switch (provider) {
    case 'slack':
      return slackPayload(n);
    case 'msteams':
      return teamsPayload(n);
    case 'discord':
      return discordPayload(n);
    case 'generic':
      return genericPayload(n);
  }
}
