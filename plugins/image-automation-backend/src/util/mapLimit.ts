/**
 * Runs `fn` over `items`, at most `limit` at a time, keeping the order of `items` in the
 * results. Rejects with the first failure (the calls already started still run to their end).
 * @internal
 */
export async function mapLimit<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<R>,
): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await fn(items[index]);
    }
  };
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, worker),
  );
  return results;
}

/**
 * {@link mapLimit} that never rejects: every item's outcome, as `Promise.allSettled` gives.
 * @internal
 */
export function mapLimitSettled<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<R>,
): Promise<PromiseSettledResult<R>[]> {
  return mapLimit(
    items,
    limit,
    async (item): Promise<PromiseSettledResult<R>> => {
      try {
        return { status: 'fulfilled', value: await fn(item) };
      } catch (reason) {
        return { status: 'rejected', reason };
      }
    },
  );
}
