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

/**
 * Where replicas claim requests of a registry's budget (the database, shared by every replica).
 * @internal
 */
export interface BudgetStore {
  /**
   * Claims up to `want` of the `limit` requests of `host` in the window that starts at
   * `windowStart`, and returns how many were granted (0 when the window is spent, or when another
   * replica's clock already moved the host on to a later window).
   */
  claimBudget(
    host: string,
    windowStart: Date,
    want: number,
    limit: number,
  ): Promise<number>;
}

/**
 * `imageAutomation.registry.requestBudget` for the whole fleet: at most `requests` per
 * `intervalMs` window (windows aligned to the epoch, so every replica counts the same ones) to
 * one registry host, summed over every replica. A replica claims requests from the database in
 * blocks (a twentieth of the budget) and spends them locally, so a registry request costs a
 * database round trip only once per block. Requests left in a block when its window ends are
 * lost: the fleet may send fewer than the budget, never more.
 * @internal
 */
export class FleetBudget {
  private window = -1;
  private tokens = 0;
  private spent = false;
  private claiming?: Promise<void>;
  private readonly block: number;

  constructor(
    private readonly store: BudgetStore,
    private readonly host: string,
    private readonly requests: number,
    private readonly intervalMs: number,
    private readonly now: () => number = Date.now,
  ) {
    this.block = Math.max(1, Math.ceil(requests / 20));
  }

  /** 0 when a request may be sent now (it is counted); otherwise how long until the next window. */
  async reserve(): Promise<number> {
    for (;;) {
      const now = this.now();
      const window = Math.floor(now / this.intervalMs);
      if (window !== this.window) {
        this.window = window;
        this.tokens = 0;
        this.spent = false;
      }
      if (this.tokens > 0) {
        this.tokens--;
        return 0;
      }
      if (this.spent) return (window + 1) * this.intervalMs - now;
      // One claim at a time: the calls that find the block empty wait for it, then look again.
      this.claiming ??= this.store
        .claimBudget(
          this.host,
          new Date(window * this.intervalMs),
          this.block,
          this.requests,
        )
        .then(granted => {
          if (this.window !== window) return;
          this.tokens += granted;
          if (granted === 0) this.spent = true;
        })
        .finally(() => {
          this.claiming = undefined;
        });
      await this.claiming;
    }
  }

  /** Gives back a reservation that was not used. */
  refund() {
    if (Math.floor(this.now() / this.intervalMs) === this.window) this.tokens++;
  }
}
