import { Text } from '@backstage/ui';
import { ObjectState } from './objectState';

/**
 * An object's state as bold coloured text with a glyph beside it; the word carries the meaning,
 * colour and glyph only repeat it. "(reconciling)" follows while a run is in progress.
 * @internal
 */
export function StateText(props: { state: ObjectState }) {
  const { state } = props;
  return (
    <Text weight="bold" color={state.color}>
      <span aria-hidden="true">{state.glyph} </span>
      {state.label}
      {state.reconciling && state.label !== 'Reconciling' && (
        <Text variant="body-small" color="secondary">
          {' '}
          (reconciling)
        </Text>
      )}
    </Text>
  );
}
