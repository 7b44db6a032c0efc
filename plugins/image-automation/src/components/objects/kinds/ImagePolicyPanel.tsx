import { Flex } from '@backstage/ui';
import { AutomationObjectView } from '@imageops/backstage-plugin-image-automation-common';
import { formatImageRef } from '../../format';
import { PolicyPreview } from '../../policy/PolicyPreview';
import { TagExplorer } from '../../policy/TagExplorer';
import { DetailList } from '../DetailList';
import { objectTitle } from '../objectState';

/** `semver >=1.0.0 <2`, `alphabetical (asc)`, `numerical (desc)`. */
function policyRule(spec: Record<string, unknown>): string {
  const policy = (spec.policy ?? {}) as Record<string, Record<string, unknown>>;
  if (policy.semver) return `semver ${String(policy.semver.range ?? '')}`;
  if (policy.alphabetical) {
    return `alphabetical (${String(policy.alphabetical.order ?? 'asc')})`;
  }
  if (policy.numerical)
    return `numerical (${String(policy.numerical.order ?? 'asc')})`;
  return '—';
}

/**
 * An ImagePolicy: its selection and rule, then every tag with its verdict (the tag explorer) and
 * a preview of an edited policy.
 * @internal
 */
export function ImagePolicyPanel(props: { object: AutomationObjectView }) {
  const { object } = props;
  const { spec, status } = object;
  const repository = (spec.imageRepositoryRef ?? {}) as {
    name?: string;
    namespace?: string;
  };
  return (
    <Flex direction="column" gap="4">
      <DetailList
        aria-label={`Policy details of ${objectTitle(object)}`}
        items={[
          ['Selected', formatImageRef(status.latestRef)],
          ['Previous', formatImageRef(status.observedPreviousRef)],
          [
            'Repository',
            repository.name
              ? `ImageRepository ${repository.namespace ?? object.namespace}/${
                  repository.name
                }`
              : '—',
          ],
          ['Rule', policyRule(spec)],
        ]}
      />
      <TagExplorer policy={object} />
      <PolicyPreview policy={object} />
    </Flex>
  );
}
