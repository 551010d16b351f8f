/** Polls until `check` returns a truthy value (or stops throwing), bounded in time. */
type Falsy = undefined | null | false | 0 | '';

export async function eventually<T>(
  check: () => Promise<T | Falsy> | T | Falsy,
  timeoutMs = 20_000,
  everyMs = 100,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value) return value;
      last = new Error(`condition still ${String(value)}`);
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw last instanceof Error ? last : new Error(String(last));
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
