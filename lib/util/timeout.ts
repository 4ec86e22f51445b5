/**
 * Internal: settles like `promise`, or rejects with `onTimeout()` when it has
 * not settled within `ms`. The timer is always cleared. `onTimeout` may do
 * more than build the error (abort a request, mark a backend stalled).
 */
export async function withTimeout<T>(promise: Promise<T>, ms: number, onTimeout: () => Error): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(onTimeout()), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
