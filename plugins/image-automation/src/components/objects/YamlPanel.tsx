import { stringify } from 'yaml';
import { Text } from '@backstage/ui';
import { AutomationObjectView } from '@imageops/backstage-plugin-image-automation-common';
import { objectTitle } from './objectState';

/** The object as YAML: its identity, spec and status, as the API returned them (names of secrets only, never values). @internal */
export function objectYaml(object: AutomationObjectView): string {
  return stringify({
    apiVersion: object.apiVersion,
    kind: object.kind,
    metadata: { name: object.name, namespace: object.namespace },
    spec: object.spec,
    status: object.status,
  });
}

/**
 * The spec and status as YAML. Long lines wrap rather than scroll, so the drawer's own scrolling
 * is the only one a keyboard user needs.
 * @internal
 */
export function YamlPanel(props: { object: AutomationObjectView }) {
  const { object } = props;
  return (
    <pre
      role="region"
      aria-label={`YAML of ${objectTitle(object)}`}
      style={{
        margin: 0,
        padding: 'var(--bui-space-3)',
        whiteSpace: 'pre-wrap',
        overflowWrap: 'anywhere',
        background: 'var(--bui-bg-neutral-1)',
        border: '1px solid var(--bui-border-1)',
        borderRadius: 'var(--bui-radius-2)',
      }}
    >
      <Text
        as="span"
        style={{ fontFamily: 'var(--bui-font-monospace, monospace)' }}
      >
        {objectYaml(object)}
      </Text>
    </pre>
  );
}
