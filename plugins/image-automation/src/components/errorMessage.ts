import { ResponseError } from '@backstage/errors';

/**
 * The message to show for a failed request: for a backend error response that is the server's
 * own message (e.g. why an action is not allowed), not the generic "Request failed with 403".
 * @internal
 */
export function errorMessage(error: Error): string {
  if (error instanceof ResponseError && error.cause?.message) {
    return error.cause.message;
  }
  return error.message;
}
