import {
  Dialog,
  DialogBody,
  DialogHeader,
  Flex,
  Tab,
  TabList,
  TabPanel,
  Tabs,
} from '@backstage/ui';
import { AutomationObjectView } from '@imageops/backstage-plugin-image-automation-common';
import { EventsPanel } from './EventsPanel';
import { HistoryPanel } from './HistoryPanel';
import { KindPanel, kindPanelLabel } from './kinds/KindPanel';
import { objectState, objectTitle } from './objectState';
import { OverviewPanel } from './OverviewPanel';
import { StateText } from './StateText';
import { OBJECT_TABS, ObjectTab } from './useObjectDrawerParams';
import { YamlPanel } from './YamlPanel';
import { PAGE_CLASS } from '../pageClass';

/** Props of {@link ObjectDrawer}. @internal */
export interface ObjectDrawerProps {
  object: AutomationObjectView;
  tab: ObjectTab;
  onTabChange: (tab: ObjectTab) => void;
  onClose: () => void;
}

/**
 * One automation object in a side panel: a modal dialog docked to the right edge (BUI has no
 * drawer), so Escape closes it and focus returns to the control that opened it. Its tabs:
 * Overview, History, Events, the kind's own panel (when it has one) and YAML.
 * @internal
 */
export function ObjectDrawer(props: ObjectDrawerProps) {
  const { object, onTabChange, onClose } = props;
  const title = objectTitle(object);
  const kindLabel = kindPanelLabel(object.kind);
  const tab = props.tab === 'details' && !kindLabel ? 'overview' : props.tab;

  return (
    <Dialog
      className={PAGE_CLASS}
      isOpen
      onOpenChange={isOpen => {
        if (!isOpen) onClose();
      }}
      width="min(880px, 100vw)"
      height="100vh"
      style={{
        marginInlineStart: 'auto',
        maxHeight: '100vh',
        maxWidth: '100vw',
        borderRadius: 0,
      }}
    >
      <DialogHeader>{title}</DialogHeader>
      <DialogBody>
        <Flex direction="column" gap="3">
          <StateText state={objectState(object)} />
          <Tabs
            selectedKey={tab}
            onSelectionChange={key => {
              const next = OBJECT_TABS.find(t => t === key);
              if (next) onTabChange(next);
            }}
          >
            <TabList aria-label={`Sections of ${title}`}>
              <Tab id="overview">Overview</Tab>
              <Tab id="history">History</Tab>
              <Tab id="events">Events</Tab>
              {kindLabel && <Tab id="details">{kindLabel}</Tab>}
              <Tab id="yaml">YAML</Tab>
            </TabList>
            <TabPanel id="overview">
              <OverviewPanel object={object} />
            </TabPanel>
            <TabPanel id="history">
              <HistoryPanel object={object} />
            </TabPanel>
            <TabPanel id="events">
              <EventsPanel object={object} />
            </TabPanel>
            {kindLabel && (
              <TabPanel id="details">
                <KindPanel object={object} />
              </TabPanel>
            )}
            <TabPanel id="yaml">
              <YamlPanel object={object} />
            </TabPanel>
          </Tabs>
        </Flex>
      </DialogBody>
    </Dialog>
  );
}
