export type { HookPayload, HookRunner, HookRunOptions, HookCall } from './types.js';
export { createHookRunner, requestBody, DEFAULT_HOOK_TIMEOUT_MS, MAX_HOOK_RETRIES, type HookRunnerOptions } from './runner.js';
export { hooksOfType, runGates, allPassed } from './gates.js';
export { notifyEventHook, type HookEvent } from './event.js';
export { describeResult, isConfirmType } from './messages.js';
export { postJson, withDeadline, redact, type PostResult, type PostOptions } from './http.js';
export { WebhookStatusError, WebhookNetworkError, WebhookTimeoutError, WebhookSpecError, OutboundRefusedError, isRetryable } from './errors.js';
export { createOutboundPolicy, outboundProblems, DEFAULT_OUTBOUND, type OutboundPolicy, type OutboundSpec } from './outbound.js';
