import { truncateMessage } from '../util/truncateMessage';

/**
 * A cause in a Kubernetes `Status` (`details.causes[]`): for validation errors, `field` is the
 * path of the offending field, e.g. `spec.interval`.
 * @internal
 */
export interface KubeStatusCause {
  reason?: string;
  message?: string;
  field?: string;
}

/**
 * The API server answered with an error `Status` (403 Forbidden, 409 Conflict, 422 Invalid, …).
 * @internal
 */
export class KubeApiError extends Error {
  readonly name = 'KubeApiError';
  constructor(
    readonly statusCode: number,
    /** `Status.reason`: `Forbidden`, `Conflict`, `Invalid`, `NotFound`, `AlreadyExists`, … */
    readonly reason: string,
    /** `Status.message`, the API server's own sentence. */
    readonly apiMessage: string,
    readonly causes: KubeStatusCause[],
    message?: string,
  ) {
    // The API server's body can be anything a proxy or webhook answers: bounded (issue #13).
    super(truncateMessage(message ?? apiMessage));
    this.apiMessage = truncateMessage(apiMessage);
    this.causes = causes.slice(0, 50).map(c => ({
      ...c,
      ...(typeof c.message === 'string'
        ? { message: truncateMessage(c.message, 1024) }
        : {}),
    }));
  }
}

/**
 * The API server could not be reached, or the connection broke before an answer: nothing is known
 * about whether a write happened, and the operation should be retried later.
 * @internal
 */
export class ClusterUnreachableError extends Error {
  readonly name = 'ClusterUnreachableError';
  constructor(readonly cluster: string, readonly url: string, cause: Error) {
    super(
      `cluster '${cluster}' (${url}) is unreachable: ${cause.message}; will retry`,
      { cause },
    );
  }
}

/**
 * Server-side apply found fields owned by another field manager, and force is not configured.
 * @internal
 */
export class ApplyConflictError extends Error {
  readonly name = 'ApplyConflictError';
  constructor(
    readonly subject: string,
    /** The other managers and the fields they own that this apply would change. */
    readonly conflicts: Array<{ manager: string; field: string }>,
    readonly fieldManager: string,
  ) {
    const detail = conflicts
      .map(c => `${c.field} (owned by "${c.manager}")`)
      .join(', ');
    super(
      `${subject} apply conflict: field manager "${fieldManager}" would change ${detail}; ` +
        'set force in imageAutomation.kubernetes (or for this cluster) to take these fields over',
    );
  }
}

/**
 * Server-side apply's conflict causes read like
 * `conflict with "kubectl-client-side-apply" using v1: .data.key`; this extracts manager and field.
 * @internal
 */
export function parseConflictCauses(
  causes: KubeStatusCause[],
): Array<{ manager: string; field: string }> {
  return causes.map(cause => {
    const match = /conflict with "([^"]+)"/.exec(cause.message ?? '');
    return { manager: match?.[1] ?? 'unknown', field: cause.field ?? '' };
  });
}
