import { ButtonLink, Flex, Link, Text, VisuallyHidden } from '@backstage/ui';
import { formatTime } from '../format';
import {
  PullRequestFacts,
  pullRequestFacts,
  safeLink,
} from './pullRequestModel';

const NEW_TAB = ' (opens in a new tab)';

/**
 * A link to a pull request on its host, opening in a new tab (`rel="noopener noreferrer"`): its
 * visible text `Pull request #12` (`PR #12` when compact), its accessible name also the host and that
 * it opens a new tab. A URL that is not http(s) is shown as text, not linked.
 * @internal
 */
export function PullRequestLink(props: {
  pr: PullRequestFacts;
  compact?: boolean;
}) {
  const { pr, compact } = props;
  const text = `${compact ? 'PR' : 'Pull request'} #${pr.number}`;
  const href = safeLink(pr.url);
  if (!href) {
    return (
      <Text>
        {text} on {pr.host}
      </Text>
    );
  }
  return (
    <Link href={href} target="_blank" rel="noopener noreferrer">
      {text}
      <VisuallyHidden>
        {compact ? ` on ${pr.host}` : ''}
        {NEW_TAB}
      </VisuallyHidden>
    </Link>
  );
}

/**
 * A pull request's state as chips, each its words in the state's colour with a border of the same
 * colour: the words carry the meaning, the colour only repeats it. Compact (a narrow table cell):
 * one fact a line, without borders.
 * @internal
 */
export function PullRequestFactChips(props: {
  pr: PullRequestFacts;
  /** The accessible name of the list, e.g. `State of pull request #12`. */
  label?: string;
  compact?: boolean;
}) {
  const { pr, compact } = props;
  return (
    <ul
      aria-label={props.label ?? `State of pull request #${pr.number}`}
      style={{
        display: 'flex',
        flexDirection: compact ? 'column' : 'row',
        flexWrap: 'wrap',
        gap: compact ? 0 : 'var(--bui-space-2)',
        listStyle: 'none',
        margin: 0,
        padding: 0,
      }}
    >
      {pullRequestFacts(pr).map(fact => (
        <li
          key={fact.key}
          style={
            compact
              ? undefined
              : {
                  border: `1px solid ${
                    fact.tone === 'secondary'
                      ? 'var(--bui-border-2)'
                      : `var(--bui-border-${fact.tone})`
                  }`,
                  borderRadius: 'var(--bui-radius-full)',
                  padding: '0 var(--bui-space-2)',
                }
          }
        >
          <Text variant="body-small" color={fact.tone}>
            {fact.text}
          </Text>
        </li>
      ))}
    </ul>
  );
}

/**
 * A pull request in a few lines: the link with its host and when it was last read, then its state.
 * The promotion card and the fleet page use it.
 * @internal
 */
export function PullRequestStatus(props: {
  pr: PullRequestFacts;
  /** `PR #12` over its state, a fact a line (the fleet page's narrow cells). */
  compact?: boolean;
}) {
  const { pr, compact } = props;
  if (compact) {
    return (
      <Flex direction="column" gap="1">
        <PullRequestLink pr={pr} compact />
        <PullRequestFactChips pr={pr} compact />
      </Flex>
    );
  }
  return (
    <Flex direction="column" gap="1">
      <Text>
        <PullRequestLink pr={pr} />
        <Text color="secondary">
          {' '}
          on {pr.host}
          {pr.updatedAt && ` · read ${formatTime(pr.updatedAt)}`}
        </Text>
      </Text>
      <PullRequestFactChips pr={pr} />
    </Flex>
  );
}

/**
 * What a reviewer does next, as a button-styled link to the pull request on its host (a new tab):
 * `Review and merge on <host>` while it waits for a review, `Merge on <host>` once its gates passed.
 * The host decides who may review and merge; Backstage offers nothing here it could refuse.
 * @internal
 */
export function PullRequestActionLink(props: {
  pr: PullRequestFacts;
  verb: 'Review and merge' | 'Merge';
  /** What the pull request carries, for the accessible name (e.g. the promotion's label). */
  label: string;
  /** Leaves the host out of the visible text (a narrow cell); the accessible name keeps it. */
  compact?: boolean;
}) {
  const { pr, verb, label, compact } = props;
  const text = compact ? verb : `${verb} on ${pr.host}`;
  const href = safeLink(pr.url);
  if (!href) return null;
  return (
    <ButtonLink
      size="small"
      variant="primary"
      href={href}
      target="_blank"
      rel="noopener noreferrer"
      // Starts with the visible text, as speech input users say it.
      aria-label={`${verb} on ${pr.host}: pull request #${pr.number} for ${label}${NEW_TAB}`}
    >
      {text}
    </ButtonLink>
  );
}
