import { ObjectStatus } from '@imageops/backstage-plugin-image-automation-common';
import { ObjectStore } from './ObjectStore';

/**
 * Stores an object's status as a finished run does (how an input provider's exports or a
 * ResourceSet's applied clusters reach the other objects): a test helper. Only this object is made
 * due, at the epoch, so only it is claimed, whatever else is due now.
 * @internal
 */
export async function storeObjectStatus(
  objects: ObjectStore,
  id: string,
  status: ObjectStatus,
): Promise<void> {
  const epoch = new Date(1000);
  await objects.markDue([id], epoch);
  const claimed = await objects.claimDue({
    owner: 'test',
    now: epoch,
    limit: 10,
    leaseMs: 60_000,
  });
  if (claimed.length !== 1 || claimed[0].id !== id) {
    throw new Error(
      `expected to claim ${id} alone, claimed: ${claimed.map(o => o.id)}`,
    );
  }
  await objects.completeRun(id, 'test', {
    status,
    nextRunAt: new Date(Date.now() + 3_600_000),
    ranAt: new Date(),
  });
}
