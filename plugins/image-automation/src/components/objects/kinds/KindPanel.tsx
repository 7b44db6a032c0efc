import { AutomationObjectView } from '@imageops/backstage-plugin-image-automation-common';
import { GitRepositoryPanel } from './GitRepositoryPanel';
import { ImagePolicyPanel } from './ImagePolicyPanel';
import { ImageRepositoryPanel } from './ImageRepositoryPanel';
import { ImageUpdateAutomationPanel } from './ImageUpdateAutomationPanel';
import { ResourceSetInputProviderPanel } from './ResourceSetInputProviderPanel';
import { ResourceSetPanel } from './ResourceSetPanel';

const panels: Record<
  string,
  {
    label: string;
    Panel: (props: { object: AutomationObjectView }) => JSX.Element;
  }
> = {
  ImageRepository: { label: 'Repository', Panel: ImageRepositoryPanel },
  ImagePolicy: { label: 'Tags', Panel: ImagePolicyPanel },
  ImageUpdateAutomation: {
    label: 'Automation',
    Panel: ImageUpdateAutomationPanel,
  },
  GitRepository: { label: 'Source', Panel: GitRepositoryPanel },
  ResourceSetInputProvider: {
    label: 'Inputs',
    Panel: ResourceSetInputProviderPanel,
  },
  ResourceSet: { label: 'Resources', Panel: ResourceSetPanel },
};

/** The name of a kind's own drawer tab, or undefined for kinds without one. @internal */
export function kindPanelLabel(kind: string): string | undefined {
  return panels[kind]?.label;
}

/** The panel of what matters for the object's kind. @internal */
export function KindPanel(props: { object: AutomationObjectView }) {
  const entry = panels[props.object.kind];
  return entry ? <entry.Panel object={props.object} /> : null;
}
