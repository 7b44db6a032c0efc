import {
  FormEvent,
  memo,
  RefObject,
  useEffect,
  useId,
  useRef,
  useState,
} from 'react';
import { useApi } from '@backstage/core-plugin-api';
import {
  Alert,
  Button,
  Card,
  CardBody,
  CardFooter,
  CardHeader,
  Dialog,
  DialogBody,
  DialogFooter,
  DialogHeader,
  Flex,
  Text,
  TextAreaField,
} from '@backstage/ui';
import {
  Page,
  PromotionGateName,
  PromotionGateResult,
  PromotionState,
  PromotionTarget,
  PromotionVersion,
  PromotionView,
  tryParseObjectId,
} from '@imageops/backstage-plugin-image-automation-common';
import {
  imageAutomationApiRef,
  PromotionDecision,
} from '../api/ImageAutomationApi';
import { PolledValue } from '../hooks/usePolledValue';
import {
  PromotionPreviewContent,
  PromotionPreviewPanel,
} from './PromotionPreview';
import { ActionButton } from './ActionButton';
import { errorMessage } from './errorMessage';
import { SectionError } from './SectionError';
import { formatTime } from './format';
import { PAGE_CLASS } from './pageClass';
import {
  PullRequestActionLink,
  PullRequestStatus,
} from './pullRequest/PullRequestStatus';
import {
  awaitsPullRequestMerge,
  awaitsPullRequestReview,
} from './pullRequest/pullRequestModel';

/** Cards a group shows before "Show N more". @internal */
export const PROMOTIONS_SHOWN_FIRST = 5;

/** Why a promotion waits: the groups of the section. @internal */
export type PromotionGroup =
  | 'approval'
  | 'soak'
  | 'window'
  | 'upstream'
  | 'pin'
  | 'misconfigured'
  | 'failed'
  | 'merge'
  | 'ready';

/** The groups in the order the section shows them, with their headings. */
const GROUPS: Array<{
  id: PromotionGroup;
  title: string;
  description: string;
}> = [
  {
    id: 'approval',
    title: 'Needs approval',
    description: "Waits for the entity's owners to approve.",
  },
  {
    id: 'soak',
    title: 'Soaking',
    description: 'Waits until the version has been out long enough.',
  },
  {
    id: 'window',
    title: 'Outside window',
    description: 'Waits for the next deployment window to open.',
  },
  {
    id: 'upstream',
    title: 'Waiting on upstream',
    description: 'Waits until an upstream entity has run this version.',
  },
  {
    id: 'pin',
    title: 'Pinned',
    description: 'Held back by a pin until someone lifts it.',
  },
  {
    id: 'misconfigured',
    title: 'Misconfigured',
    description:
      'A gate annotation is invalid: fix it on the automation object or the entity.',
  },
  {
    id: 'failed',
    title: 'Failed',
    description: 'The last attempt failed; it is retried on the next pass.',
  },
  {
    id: 'merge',
    title: 'Waiting for merge',
    description:
      'Proposed in a pull request: carried out when someone merges it on the Git host.',
  },
  {
    id: 'ready',
    title: 'Ready',
    description: 'Will be carried out on the next pass.',
  },
];

/** The gates whose waiting puts a pending promotion into a group, in the order they are checked. */
const WAITING_GROUPS: PromotionGateName[] = [
  'approval',
  'soak',
  'window',
  'upstream',
  'pin',
];

/**
 * The group a promotion is shown in: the first that matches. Gates only hold a pending
 * promotion: an approved one (possibly promoted now, past its gates) or one being applied is
 * ready, and a failed one is retried on the next pass whatever its gates said.
 * @internal
 */
export function promotionGroup(promotion: PromotionView): PromotionGroup {
  if (promotion.state === 'failed') return 'failed';
  if (awaitsPullRequestMerge(promotion)) return 'merge';
  if (promotion.state === 'pending') {
    for (const gate of WAITING_GROUPS) {
      if (promotion.gates.some(g => g.gate === gate && g.state === 'waiting')) {
        return gate;
      }
    }
    if (promotion.gates.some(g => g.state === 'error')) return 'misconfigured';
  }
  return 'ready';
}

/** A version as people read it; a promotion to a target that carried nothing starts from nothing. */
function formatVersion(version: PromotionVersion | undefined): string {
  return version ? version.tag : '(nothing)';
}

/** `1.4.1 → 1.5.0`. @internal */
export function formatDelta(
  promotion: Pick<PromotionView, 'from' | 'to'>,
): string {
  return `${formatVersion(promotion.from)} → ${formatVersion(promotion.to)}`;
}

/** `ImageUpdateAutomation/apps/web` → `ImageUpdateAutomation apps/web`; a malformed id as it is. */
function objectWords(id: string): string {
  const ref = tryParseObjectId(id);
  return ref ? `${ref.kind} ${ref.namespace}/${ref.name}` : id;
}

/** The target, short: names the object and, for a cluster target, the cluster. @internal */
export function targetName(target: PromotionTarget): string {
  return target.type === 'cluster'
    ? `${objectWords(target.objectId)} in cluster ${
        target.cluster ?? 'unknown'
      }`
    : objectWords(target.objectId);
}

/** What moves where, in a sentence. */
function movementSentence(promotion: PromotionView): string {
  const { target } = promotion;
  const subject = objectWords(promotion.subject);
  if (target.type === 'cluster') {
    return `${subject}, applied by ${objectWords(target.objectId)} in cluster ${
      target.cluster ?? 'unknown'
    }`;
  }
  return `${subject}, written to Git by ${objectWords(target.objectId)}`;
}

/**
 * The name of a promotion for people and assistive technology: what moves, the delta and the
 * target, e.g. `ImagePolicy/apps/web: 1.0.0 → 1.1.0 for ImageUpdateAutomation apps/web`. The
 * target is part of it because one policy often moves on several targets (Git and clusters) at once.
 * @internal
 */
export function promotionLabel(promotion: PromotionView): string {
  return `${promotion.subject}: ${formatDelta(promotion)} for ${targetName(
    promotion.target,
  )}`;
}

const gateColor: Record<
  PromotionGateResult['state'],
  'success' | 'warning' | 'danger'
> = {
  passed: 'success',
  waiting: 'warning',
  error: 'danger',
};

const stateText: Record<PromotionState, string> = {
  pending: 'Pending',
  approved: 'Approved',
  rejected: 'Rejected',
  applying: 'Applying',
  applied: 'Applied',
  failed: 'Failed',
  superseded: 'Superseded',
};

const stateColor: Partial<
  Record<PromotionState, 'warning' | 'info' | 'danger'>
> = {
  pending: 'warning',
  approved: 'info',
  applying: 'info',
  failed: 'danger',
};

/** A gate as a chip: its summary and its state in words, e.g. `approval 1/2 · waiting`. */
function gateText(gate: PromotionGateResult): string {
  return `${gate.summary} · ${gate.state}`;
}

/** The gates "promote now" would bypass: those not passed. A pin is never bypassed. */
function bypassedGates(promotion: PromotionView): PromotionGateResult[] {
  return promotion.gates.filter(g => g.state !== 'passed' && g.gate !== 'pin');
}

/** Props of {@link PendingPromotionsSection}. @internal */
export interface PendingPromotionsSectionProps {
  /**
   * The entity's open promotions (pending, approved, applying, failed), loaded and kept fresh by the
   * tab, which shares them with the summary.
   */
  promotions: PolledValue<Page<PromotionView>>;
}

/**
 * The "Pending promotions" section of the entity tab: the entity's open promotions, grouped by
 * why they wait, each with its gates, votes and the Approve / Reject / Promote now / Preview
 * controls. A group shows its first {@link PROMOTIONS_SHOWN_FIRST} promotions, the others on demand.
 * @internal
 */
export function PendingPromotionsSection(props: PendingPromotionsSectionProps) {
  const { promotions } = props;
  const headingId = useId();
  const items = promotions.value?.items;

  return (
    <section aria-labelledby={headingId}>
      <Flex direction="column" gap="4">
        <Text as="h2" variant="title-small" id={headingId}>
          Pending promotions
        </Text>
        <SectionError what="the pending promotions" data={promotions} />
        {promotions.loading && (
          <Text color="secondary">Loading pending promotions…</Text>
        )}
        {items?.length === 0 && (
          <Text>
            Nothing is waiting: every target carries what its policy selected.
          </Text>
        )}
        {items &&
          GROUPS.map(group => {
            const members = items.filter(p => promotionGroup(p) === group.id);
            if (members.length === 0) return null;
            return (
              <PromotionGroupSection
                key={group.id}
                name={group.title}
                title={`${group.title} (${members.length})`}
                description={group.description}
                promotions={members}
                onChanged={promotions.refresh}
              />
            );
          })}
      </Flex>
    </section>
  );
}

/**
 * A promotion's card, memoised: the section re-renders with every change of the tab's data, a card
 * only when its promotion does.
 */
const PromotionCard = memo(PromotionCardBody);

function PromotionGroupSection(props: {
  /** The group's name, without its count. */
  name: string;
  title: string;
  description: string;
  promotions: PromotionView[];
  onChanged: () => Promise<void>;
}) {
  const headingId = useId();
  const [showAll, setShowAll] = useState(false);
  const firstRevealed = useRef<HTMLDivElement>(null);
  const shown = showAll
    ? props.promotions
    : props.promotions.slice(0, PROMOTIONS_SHOWN_FIRST);
  const hidden = props.promotions.length - shown.length;
  useEffect(() => {
    // The "Show more" button is gone: the focus goes on to the first card it revealed.
    if (showAll) firstRevealed.current?.focus();
  }, [showAll]);
  return (
    <section aria-labelledby={headingId}>
      <Flex direction="column" gap="2">
        <Text as="h3" variant="title-x-small" id={headingId}>
          {props.title}
        </Text>
        <Text variant="body-small" color="secondary">
          {props.description}
        </Text>
        {shown.map((promotion, index) => (
          <PromotionCard
            key={promotion.id}
            promotion={promotion}
            onChanged={props.onChanged}
            cardRef={
              index === PROMOTIONS_SHOWN_FIRST ? firstRevealed : undefined
            }
          />
        ))}
        {hidden > 0 && (
          <div>
            <Button
              variant="secondary"
              size="small"
              aria-label={`Show ${hidden} more in ${props.name}`}
              onPress={() => setShowAll(true)}
            >
              {`Show ${hidden} more`}
            </Button>
          </div>
        )}
      </Flex>
    </section>
  );
}

/** A decision a person takes on a promotion through a dialog. @internal */
export type DecisionKind = 'approve' | 'reject' | 'promote';

function PromotionCardBody(props: {
  promotion: PromotionView;
  onChanged: () => Promise<void>;
  /** Set on a card the focus may be moved to. */
  cardRef?: RefObject<HTMLDivElement>;
}) {
  const { promotion, onChanged } = props;
  const label = promotionLabel(promotion);
  const currentDigest =
    promotion.to.digest ?? promotion.to.revision ?? promotion.to.tag;

  return (
    <Card
      role="article"
      aria-label={label}
      ref={props.cardRef}
      tabIndex={props.cardRef ? -1 : undefined}
    >
      <CardHeader>
        <Flex direction="column" gap="1">
          <Text as="h4" variant="body-large" weight="bold">
            {promotion.subject}: {formatDelta(promotion)}
          </Text>
          <Text color="secondary">{movementSentence(promotion)}</Text>
        </Flex>
      </CardHeader>
      <CardBody>
        <Flex direction="column" gap="2">
          <Text>
            <Text weight="bold" color={stateColor[promotion.state]}>
              {stateText[promotion.state]}
            </Text>
            {stateSentence(promotion)}
          </Text>
          {promotion.pullRequest && (
            <PullRequestStatus pr={promotion.pullRequest} />
          )}
          <GateChips promotion={promotion} label={label} />
          {promotion.state === 'pending' && promotion.eta && (
            <Text>Passes by itself at {formatTime(promotion.eta)}</Text>
          )}
          {promotion.votes.length > 0 && (
            <ul
              aria-label={`Votes on ${label}`}
              style={{ margin: 0, paddingLeft: 'var(--bui-space-5)' }}
            >
              {promotion.votes.map(vote => (
                <li key={`${vote.actor}:${vote.digest}:${vote.at}`}>
                  <Text>
                    {vote.decision === 'approve' ? 'approved' : 'rejected'} by{' '}
                    {vote.actor}
                    {vote.digest !== currentDigest &&
                      ' (for an earlier digest)'}
                  </Text>
                  <Text color="secondary">
                    {' '}
                    · {formatTime(vote.at)}
                    {vote.reason && ` · “${vote.reason}”`}
                  </Text>
                </li>
              ))}
            </ul>
          )}
          {promotion.bypassedGates && promotion.justification && (
            <Text>
              Promoted now
              {promotion.bypassedGates.length > 0 &&
                `, bypassing ${promotion.bypassedGates.join(', ')}`}
              : {promotion.justification}
            </Text>
          )}
          {promotion.error && (
            <Text color="danger">Error: {promotion.error}</Text>
          )}
          <PromotionPreviewPanel promotion={promotion} label={label} />
        </Flex>
      </CardBody>
      <CardFooter>
        <PromotionDecisions
          promotion={promotion}
          label={label}
          onChanged={onChanged}
        />
      </CardFooter>
    </Card>
  );
}

/**
 * A promotion's gates as chips, each its summary and state in words with the state's colour.
 * @internal
 */
export function GateChips(props: { promotion: PromotionView; label: string }) {
  const { promotion, label } = props;
  if (promotion.gates.length === 0) return null;
  return (
    <ul
      aria-label={`Gates of ${label}`}
      style={{
        display: 'flex',
        flexWrap: 'wrap',
        gap: 'var(--bui-space-2)',
        listStyle: 'none',
        margin: 0,
        padding: 0,
      }}
    >
      {promotion.gates.map(gate => (
        <li
          key={`${gate.gate}:${gate.summary}`}
          style={{
            border: `1px solid var(--bui-border-${gateColor[gate.state]})`,
            borderRadius: 'var(--bui-radius-full)',
            padding: '0 var(--bui-space-2)',
          }}
        >
          <Text variant="body-small" color={gateColor[gate.state]}>
            {gateText(gate)}
          </Text>
        </li>
      ))}
    </ul>
  );
}

const decisionTexts: Record<
  DecisionKind,
  { verb: string; field?: string; required: boolean; fieldDescription?: string }
> = {
  approve: {
    verb: 'Approve',
    field: 'Comment',
    required: false,
    fieldDescription: 'Optional; recorded with your vote.',
  },
  reject: {
    verb: 'Reject',
    field: 'Reason',
    required: true,
    fieldDescription: "Recorded in the promotion's history.",
  },
  promote: {
    verb: 'Promote now',
    field: 'Justification',
    required: true,
    fieldDescription:
      "Why the gates may be skipped; recorded in the promotion's history and the audit log.",
  },
};

/**
 * Approve, Reject and Promote now for a promotion, each enabled as its `actions` say (disabled
 * with the reason otherwise) and each confirmed in a dialog; `onChanged` runs after a decision.
 * @internal
 */
export function PromotionDecisions(props: {
  promotion: PromotionView;
  label: string;
  onChanged: () => Promise<void>;
  /** The decisions offered; all three by default (a versions row offers Promote now only). */
  only?: DecisionKind[];
  /** A narrow cell (the fleet page): the pull request's link names its host only to assistive technology. */
  compact?: boolean;
}) {
  const { promotion, label, onChanged } = props;
  const [dialog, setDialog] = useState<DecisionKind>();
  const all = !props.only;
  const pr = promotion.pullRequest;
  // A pull request a review moves: the link to review it on the host comes first. Approve, Reject
  // and Promote now stay as the backend offers them: an owner's vote here counts as well.
  const review = all && pr && awaitsPullRequestReview(promotion);
  const merge = all && pr && awaitsPullRequestMerge(promotion);
  const offered =
    props.only ?? (['approve', 'reject', 'promote'] as DecisionKind[]);
  const permissions: Record<DecisionKind, PromotionView['actions']['approve']> =
    {
      approve: promotion.actions.approve,
      reject: promotion.actions.reject,
      promote: promotion.actions.promoteNow,
    };
  return (
    <>
      <Flex gap="2" style={{ flexWrap: 'wrap' }}>
        {pr && (review || merge) && (
          <PullRequestActionLink
            pr={pr}
            verb={review ? 'Review and merge' : 'Merge'}
            label={label}
            compact={props.compact}
          />
        )}
        {offered.map(kind => (
          <ActionButton
            key={kind}
            label={decisionTexts[kind].verb}
            accessibleName={`${decisionTexts[kind].verb} ${label}`}
            permission={permissions[kind]}
            isPending={false}
            isBusy={false}
            onPress={() => setDialog(kind)}
          />
        ))}
      </Flex>
      <Dialog
        className={PAGE_CLASS}
        isOpen={dialog !== undefined}
        onOpenChange={open => {
          if (!open) setDialog(undefined);
        }}
        width={560}
      >
        {dialog && (
          <DecisionForm
            kind={dialog}
            promotion={promotion}
            label={label}
            onDone={async () => {
              await onChanged();
              setDialog(undefined);
            }}
          />
        )}
      </Dialog>
    </>
  );
}

/** What the state means for this promotion, after the state word. */
function stateSentence(promotion: PromotionView): string {
  const pr = promotion.pullRequest;
  if (pr && awaitsPullRequestReview(promotion)) {
    return `: waiting for a review of pull request #${pr.number} on ${pr.host}.`;
  }
  if (pr && awaitsPullRequestMerge(promotion)) {
    return pr.autoMerge
      ? `: proposed in pull request #${pr.number}; ${pr.host} merges it when its checks pass.`
      : `: proposed in pull request #${pr.number}; carried out when it is merged on ${pr.host}.`;
  }
  switch (promotion.state) {
    case 'approved':
      return ': will be carried out on the next pass.';
    case 'applying':
      return ': being carried out now.';
    case 'failed':
      return ': the last attempt failed; it is retried on the next pass.';
    case 'pending':
      return promotionGroup(promotion) === 'ready'
        ? ': every gate passed; will be carried out on the next pass.'
        : ': waiting for its gates.';
    default:
      return '.';
  }
}

/** The body of a decision dialog: what the decision does, its text field, confirm and cancel. */
function DecisionForm(props: {
  kind: DecisionKind;
  promotion: PromotionView;
  label: string;
  onDone: () => Promise<void>;
}) {
  const { kind, promotion, label, onDone } = props;
  const api = useApi(imageAutomationApiRef);
  const texts = decisionTexts[kind];
  const [text, setText] = useState('');
  const [pending, setPending] = useState(false);
  const [error, setError] = useState<string>();
  const valid = !texts.required || text.trim() !== '';

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    if (!valid || pending) return;
    const value = text.trim();
    let decision: PromotionDecision;
    if (kind === 'approve') {
      decision = value
        ? { action: 'approve', comment: value }
        : { action: 'approve' };
    } else if (kind === 'reject') {
      decision = { action: 'reject', reason: value };
    } else {
      decision = { action: 'promote', justification: value };
    }
    setPending(true);
    setError(undefined);
    try {
      await api.decidePromotion(promotion.id, decision);
    } catch (e) {
      setError(
        `${texts.verb} failed: ${errorMessage(
          e instanceof Error ? e : new Error(String(e)),
        )}`,
      );
      setPending(false);
      return;
    }
    await onDone();
  };

  const bypassed = bypassedGates(promotion);
  const pin = promotion.gates.find(
    g => g.gate === 'pin' && g.state !== 'passed',
  );

  return (
    <>
      <DialogHeader>
        {texts.verb} {label}
      </DialogHeader>
      <form onSubmit={submit} style={{ display: 'contents' }}>
        <DialogBody>
          <Flex direction="column" gap="3">
            {kind === 'approve' && (
              <Text>
                Your approval is a vote for {formatVersion(promotion.to)}
                {promotion.to.digest ? ` (${promotion.to.digest})` : ''}; the
                promotion is carried out once enough owners approved and the
                other gates pass.
              </Text>
            )}
            {kind === 'reject' && (
              <Text>
                Rejecting closes the promotion: {formatVersion(promotion.to)} is
                not proposed again for this target.
              </Text>
            )}
            {kind === 'promote' && (
              <Alert
                role="note"
                aria-label="Gates bypassed"
                status="warning"
                icon
                title={
                  bypassed.length > 0
                    ? `Promote now bypasses ${bypassed
                        .map(g => g.gate)
                        .join(', ')}`
                    : 'Promote now bypasses no gate'
                }
                description={
                  <>
                    {bypassed.length > 0 &&
                      `${bypassed.map(gateText).join('; ')}. `}
                    {pin && 'A pin is not bypassed: unpin the target first. '}
                    The promotion is carried out on the next pass; the bypass
                    and your justification are recorded.
                  </>
                }
              />
            )}
            {texts.field && (
              <TextAreaField
                label={texts.field}
                description={texts.fieldDescription}
                isRequired={texts.required}
                value={text}
                onChange={setText}
                isDisabled={pending}
              />
            )}
            {kind !== 'reject' && (
              <PromotionPreviewContent
                promotion={promotion}
                label={label}
                enabled
              />
            )}
            {error && <Alert status="danger" role="alert" title={error} />}
          </Flex>
        </DialogBody>
        <DialogFooter>
          <Button variant="secondary" slot="close" isDisabled={pending}>
            Cancel
          </Button>
          <Button
            type="submit"
            variant="primary"
            destructive={kind !== 'approve'}
            isDisabled={!valid}
            isPending={pending}
          >
            {texts.verb}
          </Button>
        </DialogFooter>
      </form>
    </>
  );
}
