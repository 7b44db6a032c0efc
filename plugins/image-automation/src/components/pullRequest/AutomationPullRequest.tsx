import { useId } from 'react';
import { Flex, Text } from '@backstage/ui';
import { ObjectStatus } from '@imageops/backstage-plugin-image-automation-common';
import { formatTime } from '../format';
import { DetailList } from '../objects/DetailList';
import { PullRequestFactChips, PullRequestLink } from './PullRequestStatus';
import { pullRequestFromStatus } from './pullRequestModel';

/**
 * An ImageUpdateAutomation's pull request in pull-request mode (`status.pullRequest`): the link to
 * it on its host, the branch it proposes into which base, its state (reviews, checks, merge) and
 * the versions it carries.
 * @internal
 */
export function AutomationPullRequest(props: {
  pullRequest: NonNullable<ObjectStatus['pullRequest']>;
  /** The automation's title, e.g. `ImageUpdateAutomation apps/web`. */
  title: string;
}) {
  const pr = pullRequestFromStatus(props.pullRequest);
  const headingId = useId();
  const versions = Object.entries(props.pullRequest.versions ?? {});
  return (
    <section aria-labelledby={headingId}>
      <Flex direction="column" gap="2">
        <Text as="h3" variant="title-x-small" id={headingId}>
          Pull request
        </Text>
        <DetailList
          aria-label={`Pull request of ${props.title}`}
          items={[
            [
              'Pull request',
              <Text key="link">
                <PullRequestLink pr={pr} />
                <Text color="secondary"> on {pr.host}</Text>
              </Text>,
            ],
            [
              'Branch',
              `${props.pullRequest.branch} → ${props.pullRequest.base}`,
            ],
            ['State', <PullRequestFactChips key="state" pr={pr} />],
            [
              'Versions',
              versions.length > 0 ? (
                <ul
                  key="versions"
                  aria-label={`Versions in pull request #${pr.number}`}
                  style={{ margin: 0, paddingInlineStart: '1.2em' }}
                >
                  {versions.map(([policy, version]) => (
                    <li key={policy}>
                      <Text style={{ overflowWrap: 'anywhere' }}>
                        {policy}: {version}
                      </Text>
                    </li>
                  ))}
                </ul>
              ) : (
                'none recorded'
              ),
            ],
            ...(pr.mergeCommit
              ? ([['Merge commit', pr.mergeCommit]] as Array<[string, string]>)
              : []),
            ['Read from the host', formatTime(pr.updatedAt)],
          ]}
        />
      </Flex>
    </section>
  );
}
