import { AutomationObjectView } from '@imageops/backstage-plugin-image-automation-common';
import { formatTime } from '../../format';
import { DetailList, specString } from '../DetailList';
import { objectTitle } from '../objectState';

/** `branch main`, `tag v1.2.0`, `semver >=1`, `commit abc…`. */
function refText(ref: unknown): string {
  const r = (ref ?? {}) as Record<string, unknown>;
  for (const key of ['commit', 'name', 'semver', 'tag', 'branch']) {
    if (typeof r[key] === 'string' && r[key]) return `${key} ${r[key]}`;
  }
  return 'the default branch';
}

/**
 * A GitRepository: where it points, the revision it resolved last, and how it authenticates
 * (names only).
 * @internal
 */
export function GitRepositoryPanel(props: { object: AutomationObjectView }) {
  const { object } = props;
  const { spec, status } = object;
  const secret = (spec.secretRef as { name?: string } | undefined)?.name;
  return (
    <DetailList
      aria-label={`Source details of ${objectTitle(object)}`}
      items={[
        ['URL', specString(spec.url)],
        ['Reference', refText(spec.ref)],
        ['Revision', status.artifact?.revision ?? 'not resolved yet'],
        ['Resolved', formatTime(status.artifact?.lastUpdateTime)],
        [
          'Authentication',
          secret ? `Secret ${secret} (spec.secretRef)` : 'Anonymous',
        ],
      ]}
    />
  );
}
