export type { RolloutNotification, NotificationMetric, Notifier, NotifyResult, NotifierStats, Severity, AlertProvider } from './types.js';
export { createNotifier, DEFAULT_SEND_TIMEOUT_MS, type NotifierOptions, type RunningNotifier } from './notifier.js';
export { admits } from './severity.js';
export { formatFor } from './format.js';
export { slackPayload, escapeSlack } from './slack.js';
export { teamsPayload } from './msteams.js';
export { discordPayload, escapeDiscord } from './discord.js';
export { genericPayload } from './generic.js';
export { AlertUrlMissingError } from './errors.js';
