/**
 * Waits on a condition instead of a fixed sleep: resolves as soon as `cond` holds, rejects naming `what`
 * when it has not held within `timeoutMs`.
 */
export async function waitUntil(what: string, cond: () => boolean | Promise<boolean>, timeoutMs = 30_000, pollMs = 100): Promise<void> {
  const deadline = AbortSignal.timeout(timeoutMs);
  while (!(await cond())) {
    if (deadline.aborted) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, pollMs));
  }
}
