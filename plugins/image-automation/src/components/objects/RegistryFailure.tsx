import { useContext } from 'react';
import { useApi } from '@backstage/core-plugin-api';
import { Alert, Text } from '@backstage/ui';
import {
  AutomationObjectView,
  RegistryErrorKind,
  ScanRecord,
} from '@imageops/backstage-plugin-image-automation-common';
import { imageAutomationApiRef } from '../../api/ImageAutomationApi';
import { LiveUpdatesContext } from '../../hooks/useLiveUpdates';
import { usePolledValue } from '../../hooks/usePolledValue';
import { formatRelative, formatTime } from '../format';
import { objectHealth } from '../objectHealth';

/** The class of a registry failure in words, for every kind the backend records. @internal */
export const REGISTRY_ERROR_LABELS: Record<RegistryErrorKind, string> = {
  unauthorized: 'unauthorized',
  notFound: 'repository not found',
  hostNotAllowed: 'registry not allowed',
  tagLimit: 'too many tags',
  rateLimited: 'rate limited',
  budgetExceeded: 'request budget exceeded',
  timeout: 'timeout',
  aborted: 'aborted',
  network: 'network',
  tls: 'TLS',
  server: 'server error',
  rejected: 'request rejected',
  invalidResponse: 'invalid response',
  invalidReference: 'invalid image reference',
};

/**
 * A failed scan's class: `unauthorized (HTTP 401)`, `TLS`; undefined when the scan recorded
 * neither a kind nor a status (it was not a registry error, or was recorded before classes were).
 * @internal
 */
export function registryErrorClass(
  scan: Pick<ScanRecord, 'errorKind' | 'errorStatus'>,
): string | undefined {
  if (!scan.errorKind && !scan.errorStatus) return undefined;
  const label = scan.errorKind
    ? REGISTRY_ERROR_LABELS[scan.errorKind] ?? scan.errorKind
    : 'registry error';
  return scan.errorStatus ? `${label} (HTTP ${scan.errorStatus})` : label;
}

/** `2026-11-22 01:00:00 UTC (1h ago)`. */
function timeAndAge(iso: string, now: Date): string {
  return `${formatTime(iso)} (${formatRelative(iso, now)})`;
}

/**
 * "Registry failing: unauthorized (HTTP 401) · last good scan <time> · next retry <time>" for a
 * repository whose newest scan failed: the good scan is the one `status.lastScanResult` still
 * describes (a failed scan leaves it), the retry is the object's next run.
 * @internal
 */
export function registryFailingText(
  object: AutomationObjectView,
  scan: ScanRecord,
  now: Date,
): string {
  const good = object.status.lastScanResult?.scanTime;
  const lastGood = good
    ? `last good scan ${timeAndAge(good, now)}`
    : 'no good scan yet';
  let retry = 'next retry not scheduled';
  if (object.suspended) retry = 'no retry while suspended';
  else if (object.nextRunAt && Date.parse(object.nextRunAt) <= now.getTime()) {
    retry = 'next retry due now';
  } else if (object.nextRunAt) {
    retry = `next retry ${timeAndAge(object.nextRunAt, now)}`;
  }
  const kind = registryErrorClass(scan) ?? 'unclassified error';
  return `Registry failing: ${kind} · ${lastGood} · ${retry}`;
}

/**
 * The newest scan of an ImageRepository when it is not Ready and that scan failed, else
 * undefined. A Ready repository costs no request.
 * @internal
 */
export function useFailedScan(
  object: AutomationObjectView,
): ScanRecord | undefined {
  const api = useApi(imageAutomationApiRef);
  const live = useContext(LiveUpdatesContext);
  const notReady =
    object.kind === 'ImageRepository' &&
    objectHealth(object.status).readiness !== 'Ready' &&
    !!object.lastRunAt;
  const newest = usePolledValue(
    `${object.id} ${notReady}`,
    async () =>
      notReady
        ? (await api.getScans(object, { limit: 1 })).items[0]
        : undefined,
    live.pollIntervalMs,
    { refreshOn: `${live.version} ${object.lastRunAt}` },
  );
  return notReady && newest.value?.outcome === 'failure'
    ? newest.value
    : undefined;
}

/** The "Registry failing: …" line. @internal */
export function RegistryFailingLine(props: {
  object: AutomationObjectView;
  scan: ScanRecord;
}) {
  return (
    <Alert
      status="danger"
      role="status"
      title={registryFailingText(props.object, props.scan, new Date())}
    />
  );
}

/** A value from the last good scan, marked stale while the registry is failing. @internal */
export function Stale(props: { children: string }) {
  return (
    <Text>
      {props.children}{' '}
      <Text weight="bold" color="warning">
        (stale)
      </Text>
    </Text>
  );
}
