// For state that announces no event (a process's /stats, a count in Redis):
// poll, bounded, and fail with the last value seen. Where an event exists, wait
// on the event instead.
export async function eventually<T>(read: () => Promise<T> | T, ok: (value: T) => boolean, timeoutMs: number, what: string, everyMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T | undefined;
  for (;;) {
    last = await read();
    if (ok(last)) return last;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; last value: ${JSON.stringify(last)}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
