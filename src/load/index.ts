export { LoadSpecError } from './errors.js';
export { parseHeyCommand, requestedRate, splitWords, type HeySpec } from './hey.js';
export { LoadRun, type Outcome, type Send, type SendResult } from './generator.js';
export { createSender, type Sender } from './send.js';
export { LoadManager, DEFAULT_LOAD_CAPS, CHECK_INTERVAL_MS, type LoadCaps, type LoadEvent, type ArmResult, type LoadManagerOptions } from './manager.js';
export { isNativeLoadHook, nativeLoadProblems, rolloutStopReason } from './hook.js';
