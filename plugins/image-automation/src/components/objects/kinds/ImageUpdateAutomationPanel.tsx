import { Flex, Text } from '@backstage/ui';
import {
  Cell,
  CellText,
  Column,
  Row,
  TableBody,
  TableHeader,
  TableRoot,
} from '../../table/Table';
import { AutomationObjectView } from '@imageops/backstage-plugin-image-automation-common';
import { formatImageRef, formatTime } from '../../format';
import { DetailList } from '../DetailList';
import { markerVerdicts } from '../kindFacts';
import { objectTitle } from '../objectState';
import { AutomationPullRequest } from '../../pullRequest/AutomationPullRequest';

/**
 * An ImageUpdateAutomation: its last run and push, its pull request (in pull-request mode), the
 * policies it applied, and every
 * `$imagepolicy` marker it found with whether it carries the policy's selection, and why not.
 * @internal
 */
export function ImageUpdateAutomationPanel(props: {
  object: AutomationObjectView;
}) {
  const { object } = props;
  const { status, spec } = object;
  const title = objectTitle(object);
  const git = (spec.git ?? {}) as { push?: { branch?: string } };
  const source = (spec.sourceRef ?? {}) as {
    name?: string;
    namespace?: string;
  };
  const policies = Object.entries(status.observedPolicies ?? {}).map(
    ([name, ref]) => ({ id: name, name, ref }),
  );
  const markers = markerVerdicts(object.namespace, status).map(m => ({
    ...m,
    id: `${m.file}:${m.line}`,
  }));
  return (
    <Flex direction="column" gap="4">
      <DetailList
        aria-label={`Automation details of ${title}`}
        items={[
          [
            'Source',
            source.name
              ? `GitRepository ${source.namespace ?? object.namespace}/${
                  source.name
                }`
              : '—',
          ],
          ['Source revision', status.observedSourceRevision ?? '—'],
          [
            'Push branch',
            status.pullRequest
              ? `${status.pullRequest.branch} (pull request into ${status.pullRequest.base})`
              : git.push?.branch ?? 'the checkout branch',
          ],
          ['Last run', formatTime(status.lastAutomationRunTime)],
          ['Last push commit', status.lastPushCommit ?? 'nothing pushed yet'],
          ['Last push', formatTime(status.lastPushTime)],
        ]}
      />
      {status.pullRequest && (
        <AutomationPullRequest pullRequest={status.pullRequest} title={title} />
      )}
      <Text as="h3" variant="title-x-small">
        Policies applied by the last run
      </Text>
      <TableRoot aria-label={`Policies applied by ${title}`}>
        <TableHeader>
          <Column>Policy</Column>
          <Column>Selected</Column>
        </TableHeader>
        <TableBody items={policies} renderEmptyState={() => 'None yet.'}>
          {policy => (
            <Row id={policy.id}>
              <CellText title={policy.name} />
              <Cell>
                <Text style={{ overflowWrap: 'anywhere' }}>
                  {policy.ref.name}:{formatImageRef(policy.ref)}
                </Text>
              </Cell>
            </Row>
          )}
        </TableBody>
      </TableRoot>
      <Text as="h3" variant="title-x-small">
        Markers found at the branch tip
      </Text>
      <TableRoot aria-label={`Markers found by ${title}`}>
        <TableHeader>
          <Column>File</Column>
          <Column>Setter</Column>
          <Column>Value</Column>
          <Column>Applied</Column>
        </TableHeader>
        <TableBody
          items={markers}
          renderEmptyState={() =>
            status.markers
              ? 'No markers found.'
              : 'Not known until the next run.'
          }
        >
          {marker => (
            <Row id={marker.id}>
              <CellText title={marker.id} />
              <CellText title={marker.setter} />
              <Cell>
                <Text style={{ overflowWrap: 'anywhere' }}>{marker.value}</Text>
              </Cell>
              <Cell>
                {marker.applied ? (
                  <Text color="success" weight="bold">
                    Yes
                  </Text>
                ) : (
                  <Text style={{ overflowWrap: 'anywhere' }}>
                    <Text color="warning" weight="bold">
                      No
                    </Text>
                    : {marker.why}
                  </Text>
                )}
              </Cell>
            </Row>
          )}
        </TableBody>
      </TableRoot>
    </Flex>
  );
}
