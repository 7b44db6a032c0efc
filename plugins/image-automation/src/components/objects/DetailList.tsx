import { ReactNode } from 'react';
import { Text } from '@backstage/ui';

/**
 * Name/value pairs as a description list, names in secondary text; values that are plain strings
 * wrap anywhere (digests, URLs).
 * @internal
 */
export function DetailList(props: {
  'aria-label'?: string;
  items: Array<[string, ReactNode]>;
}) {
  return (
    <dl
      aria-label={props['aria-label']}
      style={{
        display: 'grid',
        gridTemplateColumns: 'max-content 1fr',
        columnGap: 'var(--bui-space-4)',
        rowGap: 'var(--bui-space-1)',
        margin: 0,
      }}
    >
      {props.items.map(([name, value]) => (
        <div key={name} style={{ display: 'contents' }}>
          <dt>
            <Text color="secondary">{name}</Text>
          </dt>
          <dd style={{ margin: 0, overflowWrap: 'anywhere' }}>
            {typeof value === 'string' || typeof value === 'number' ? (
              <Text>{value}</Text>
            ) : (
              value
            )}
          </dd>
        </div>
      ))}
    </dl>
  );
}

/** A string field of a spec, or a dash. @internal */
export function specString(value: unknown): string {
  return typeof value === 'string' && value !== '' ? value : '—';
}
