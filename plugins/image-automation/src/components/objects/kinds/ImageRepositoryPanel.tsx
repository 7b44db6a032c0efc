import { Flex, Text } from '@backstage/ui';
import { AutomationObjectView } from '@imageops/backstage-plugin-image-automation-common';
import { formatTime } from '../../format';
import { DetailList, specString } from '../DetailList';
import { authMode, exclusionList } from '../kindFacts';
import { objectTitle } from '../objectState';
import { RegistryFailingLine, Stale, useFailedScan } from '../RegistryFailure';

const ORIGIN = {
  observed: 'as applied by the last scan',
  spec: 'from spec.exclusionList, not applied by a scan yet',
  default: "Flux's default",
};

/**
 * An ImageRepository: its image, how many tags the last scan found and when, how it
 * authenticates (names only) and which tags it excludes. While its registry fails, a line says
 * why (the error class), since when (the last good scan) and when it retries, and what the last
 * good scan found is marked stale.
 * @internal
 */
export function ImageRepositoryPanel(props: { object: AutomationObjectView }) {
  const { object } = props;
  const { status, spec } = object;
  const scan = status.lastScanResult;
  const exclusions = exclusionList(spec, status);
  const failed = useFailedScan(object);
  const fromScan = (value: string) =>
    failed && scan ? <Stale>{value}</Stale> : value;
  const details = (
    <DetailList
      aria-label={`Repository details of ${objectTitle(object)}`}
      items={[
        ['Image', specString(spec.image)],
        ['Canonical name', status.canonicalImageName ?? '—'],
        ['Tags', scan ? fromScan(String(scan.tagCount)) : 'not scanned yet'],
        [
          failed ? 'Last good scan' : 'Last scan',
          scan ? formatTime(scan.scanTime) : '—',
        ],
        ['Scan revision', scan ? fromScan(scan.revision ?? '—') : '—'],
        [
          'Latest tags',
          scan?.latestTags?.length ? fromScan(scan.latestTags.join(', ')) : '—',
        ],
        ['Authentication', authMode(spec)],
        [
          'Exclusion list',
          <Flex key="exclusions" direction="column" gap="1">
            <ul style={{ margin: 0, paddingInlineStart: '1.2em' }}>
              {exclusions.patterns.map(pattern => (
                <li key={pattern}>
                  <code>{pattern}</code>
                </li>
              ))}
            </ul>
            <Text variant="body-small" color="secondary">
              {ORIGIN[exclusions.origin]}
            </Text>
          </Flex>,
        ],
      ]}
    />
  );
  return (
    <Flex direction="column" gap="3">
      {failed && <RegistryFailingLine object={object} scan={failed} />}
      {details}
    </Flex>
  );
}
