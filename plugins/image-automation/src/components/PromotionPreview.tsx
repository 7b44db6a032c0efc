import { useCallback, useEffect, useId, useState } from 'react';
import { useApi } from '@backstage/core-plugin-api';
import {
  Alert,
  Button,
  Dialog,
  DialogBody,
  DialogHeader,
  DialogTrigger,
  Flex,
  Text,
} from '@backstage/ui';
import {
  PromotionPreview,
  PromotionView,
} from '@imageops/backstage-plugin-image-automation-common';
import { imageAutomationApiRef } from '../api/ImageAutomationApi';
import { errorMessage } from './errorMessage';
import { formatTime } from './format';
import { PAGE_CLASS } from './pageClass';

type PreviewState =
  | { status: 'idle' }
  | { status: 'loading' }
  | { status: 'done'; preview: PromotionPreview }
  | { status: 'failed'; error: string };

/**
 * The change a promotion would write, computed by the backend when `enabled` turns true (and
 * again each time it does). An answer arriving after `enabled` turned false is dropped.
 */
function usePromotionPreview(
  promotionId: string,
  enabled: boolean,
): PreviewState {
  const api = useApi(imageAutomationApiRef);
  const [state, setState] = useState<PreviewState>({ status: 'idle' });
  useEffect(() => {
    if (!enabled) {
      setState({ status: 'idle' });
      return undefined;
    }
    let current = true;
    setState({ status: 'loading' });
    api.previewPromotion(promotionId).then(
      preview => current && setState({ status: 'done', preview }),
      e =>
        current &&
        setState({
          status: 'failed',
          error: `Preview failed: ${errorMessage(
            e instanceof Error ? e : new Error(String(e)),
          )}`,
        }),
    );
    return () => {
      current = false;
    };
  }, [api, promotionId, enabled]);
  return state;
}

/**
 * Preformatted text in a monospace font, named for assistive technology. A long diff scrolls
 * sideways, so the block is focusable: keyboard users can scroll it too.
 */
function CodeBlock(props: { label: string; children: string }) {
  return (
    <pre
      role="region"
      aria-label={props.label}
      // A scroll container must be reachable by keyboard (jsx-a11y's documented exception).
      // eslint-disable-next-line jsx-a11y/no-noninteractive-tabindex
      tabIndex={0}
      style={{
        fontFamily: 'var(--bui-font-monospace)',
        fontSize: '0.85em',
        whiteSpace: 'pre',
        overflowX: 'auto',
        margin: 0,
        padding: 'var(--bui-space-2)',
        border: '1px solid var(--bui-border-1)',
        borderRadius: 'var(--bui-radius-2)',
      }}
    >
      {props.children}
    </pre>
  );
}

/**
 * What a promotion would write, loaded while `enabled`: the commit message and setter-line diff
 * of a Git target, or each object's change and diff per cluster.
 * @internal
 */
export function PromotionPreviewContent(props: {
  promotion: PromotionView;
  label: string;
  enabled: boolean;
}) {
  const { label } = props;
  const state = usePromotionPreview(props.promotion.id, props.enabled);
  if (state.status === 'idle') return null;
  if (state.status === 'loading') {
    return <Text color="secondary">Computing the change…</Text>;
  }
  if (state.status === 'failed') {
    return <Alert status="danger" role="alert" title={state.error} />;
  }
  const { preview } = state;
  return (
    <Flex direction="column" gap="2">
      <Text variant="body-small" color="secondary">
        What this promotion would write, computed at{' '}
        {formatTime(preview.computedAt)}
      </Text>
      {preview.commitMessage && (
        <CodeBlock label={`Commit message of ${label}`}>
          {preview.commitMessage}
        </CodeBlock>
      )}
      <CodeBlock label={`Diff of ${label}`}>
        {preview.diff || '(no change)'}
      </CodeBlock>
      {preview.objects && preview.objects.length > 0 && (
        <ul
          aria-label={`Objects changed by ${label}`}
          style={{ margin: 0, paddingLeft: 'var(--bui-space-5)' }}
        >
          {preview.objects.map(o => (
            <li key={`${o.cluster}:${o.object}`}>
              <Text>
                {o.object} in cluster {o.cluster}: {o.action}
              </Text>
              {o.diff && (
                <CodeBlock
                  label={`Diff of ${o.object} in cluster ${o.cluster}`}
                >
                  {o.diff}
                </CodeBlock>
              )}
            </li>
          ))}
        </ul>
      )}
    </Flex>
  );
}

/** A card's Preview button and, once pressed, the change the promotion would write. @internal */
export function PromotionPreviewPanel(props: {
  promotion: PromotionView;
  label: string;
}) {
  const { promotion, label } = props;
  const panelId = useId();
  const [open, setOpen] = useState(false);
  const toggle = useCallback(() => setOpen(o => !o), []);
  return (
    <Flex direction="column" gap="2">
      <div>
        <Button
          size="small"
          variant="tertiary"
          aria-label={`Preview ${label}`}
          aria-expanded={open}
          aria-controls={open ? panelId : undefined}
          onPress={toggle}
        >
          {open ? 'Hide preview' : 'Preview'}
        </Button>
      </div>
      {open && (
        <div id={panelId}>
          <PromotionPreviewContent
            promotion={promotion}
            label={label}
            enabled
          />
        </div>
      )}
    </Flex>
  );
}

/**
 * A versions row's Preview button: a dialog with the change the row's open promotion would
 * write, read-only (the decisions stay on the row's and the card's own buttons).
 * @internal
 */
export function PromotionPreviewDialog(props: {
  promotion: PromotionView;
  label: string;
}) {
  const { promotion, label } = props;
  const [open, setOpen] = useState(false);
  return (
    <DialogTrigger isOpen={open} onOpenChange={setOpen}>
      <Button size="small" variant="secondary" aria-label={`Preview ${label}`}>
        Preview
      </Button>
      <Dialog className={PAGE_CLASS} width={720}>
        <DialogHeader>Preview {label}</DialogHeader>
        <DialogBody>
          <PromotionPreviewContent
            promotion={promotion}
            label={label}
            enabled={open}
          />
        </DialogBody>
      </Dialog>
    </DialogTrigger>
  );
}
