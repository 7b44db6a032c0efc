import { truncateMessage } from '../util/truncateMessage';
import {
  ApplyConflictError,
  ClusterUnreachableError,
  KubeApiError,
} from './errors';
import { ApplyError } from './ServerSideApplier';

/**
 * What an apply failure means for the object that applied: the Ready condition's reason and
 * message (Flux reports every apply failure as `ReconciliationFailed`; `kind` tells them apart),
 * and whether retrying soon can help.
 * @internal
 */
export interface ApplyFailure {
  kind:
    | 'Unreachable'
    | 'Conflict'
    | 'Forbidden'
    | 'Invalid'
    | 'Refused'
    | 'HealthCheck'
    | 'Other';
  reason: 'ReconciliationFailed' | 'HealthCheckFailed';
  message: string;
  /**
   * True when the same request can succeed later without anyone changing the spec or the cluster
   * (the API server was unreachable): retry with backoff. Otherwise wait for the next interval or a
   * spec change, as Flux does.
   */
  retrySoon: boolean;
}

function innermost(error: unknown): unknown {
  return error instanceof ApplyError ? error.errors[0] : error;
}

/**
 * Classifies an error thrown by {@link InventoryApplier.apply} or {@link ServerSideApplier}.
 * @internal
 */
export function classifyApplyFailure(error: unknown): ApplyFailure {
  const message = truncateMessage(
    error instanceof Error ? error.message : String(error),
  );
  const cause = innermost(error);
  const failure = (
    kind: ApplyFailure['kind'],
    retrySoon = false,
  ): ApplyFailure => ({
    kind,
    reason:
      kind === 'HealthCheck' ? 'HealthCheckFailed' : 'ReconciliationFailed',
    message,
    retrySoon,
  });
  if (cause instanceof ClusterUnreachableError) {
    return failure('Unreachable', true);
  }
  if (cause instanceof ApplyConflictError) {
    return failure('Conflict');
  }
  if (cause instanceof KubeApiError) {
    if (cause.statusCode === 403) {
      return failure('Forbidden');
    }
    if (cause.statusCode === 422) {
      return failure('Invalid');
    }
    return failure(
      'Other',
      cause.statusCode === 429 || cause.statusCode >= 500,
    );
  }
  if (/ refused: /.test(message)) {
    return failure('Refused');
  }
  if (message.includes('health check failed')) {
    return failure('HealthCheck');
  }
  return failure('Other');
}
