import {
  LoggerService,
  RootLoggerService,
} from '@backstage/backend-plugin-api';

/**
 * A root logger that keeps every line as the backend wrote it (level, message, then the logger's
 * and the call's metadata as JSON, errors with their message, stack and cause), for tests that
 * search the logs, e.g. for a secret that must never appear.
 */
export class CapturingLogger implements RootLoggerService {
  constructor(
    readonly lines: string[],
    private readonly meta: Record<string, unknown> = {},
  ) {}

  private write(
    level: string,
    message: string,
    meta?: Error | Record<string, unknown>,
  ) {
    const all =
      meta instanceof Error
        ? { ...this.meta, error: meta }
        : { ...this.meta, ...(meta ?? {}) };
    this.lines.push(
      `${level} ${message} ${JSON.stringify(all, (_key, value) =>
        value instanceof Error
          ? {
              ...value,
              name: value.name,
              message: value.message,
              stack: value.stack,
              cause: value.cause,
            }
          : value,
      )}`,
    );
  }

  error(message: string, meta?: Error | Record<string, unknown>) {
    this.write('error', message, meta);
  }
  warn(message: string, meta?: Error | Record<string, unknown>) {
    this.write('warn', message, meta);
  }
  info(message: string, meta?: Error | Record<string, unknown>) {
    this.write('info', message, meta);
  }
  debug(message: string, meta?: Error | Record<string, unknown>) {
    this.write('debug', message, meta);
  }
  child(meta: Record<string, unknown>): LoggerService {
    return new CapturingLogger(this.lines, { ...this.meta, ...meta });
  }
}
