/** A counting semaphore: at most `limit` holders at a time, FIFO. @internal */
export class Semaphore {
  private active = 0;
  private readonly waiting: Array<() => void> = [];
  constructor(private readonly limit: number) {}

  async acquire(): Promise<() => void> {
    if (this.active < this.limit) {
      this.active++;
    } else {
      await new Promise<void>(resolve => this.waiting.push(resolve));
    }
    let released = false;
    return () => {
      if (released) {
        return;
      }
      released = true;
      const next = this.waiting.shift();
      if (next) {
        next();
      } else {
        this.active--;
      }
    };
  }
}

/**
 * A token bucket: `requests` per `intervalMs`, refilled continuously. `take` reports how long
 * the caller must wait for a token (0 when one is available now) and reserves it.
 * @internal
 */
export class RequestBudget {
  private tokens: number;
  private updatedAt = Date.now();
  constructor(
    private readonly requests: number,
    private readonly intervalMs: number,
  ) {
    this.tokens = requests;
  }

  reserve(): number {
    const now = Date.now();
    this.tokens = Math.min(
      this.requests,
      this.tokens + ((now - this.updatedAt) * this.requests) / this.intervalMs,
    );
    this.updatedAt = now;
    this.tokens -= 1;
    return this.tokens >= 0
      ? 0
      : Math.ceil((-this.tokens * this.intervalMs) / this.requests);
  }

  /** Gives back a reservation that was not used. */
  refund() {
    this.tokens += 1;
  }
}
