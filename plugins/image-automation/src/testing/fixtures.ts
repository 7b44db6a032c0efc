import {
  AutomationObjectView,
  Condition,
} from '@imageops/backstage-plugin-image-automation-common';

/** A Flux condition with a fixed transition time. @internal */
export function condition(
  type: string,
  status: Condition['status'],
  reason: string,
  message: string,
): Condition {
  return {
    type,
    status,
    reason,
    message,
    lastTransitionTime: '2026-11-20T08:00:00Z',
  };
}

const allowed = { allowed: true };

/** An automation object view for tests; `overrides` replaces top-level fields. @internal */
export function objectView(
  kind: string,
  name: string,
  overrides: Partial<AutomationObjectView> = {},
): AutomationObjectView {
  return {
    id: `${kind}/default/${name}`,
    apiVersion: 'image.toolkit.fluxcd.io/v1',
    kind,
    namespace: 'default',
    name,
    entityRef: 'component:default/podinfo',
    source: {
      type: 'catalog',
      location: 'url:https://example.test/podinfo/automation.yaml',
    },
    generation: 1,
    spec: {},
    status: {},
    suspended: false,
    actions: { suspend: allowed, resume: allowed, reconcile: allowed },
    ...overrides,
  };
}
