import { ObjectEvent } from '@imageops/backstage-plugin-image-automation-common';
import {
  authMode,
  collapseEvents,
  exclusionList,
  markerVerdicts,
} from './kindFacts';
import { inputValue } from './kinds/ResourceSetInputProviderPanel';
import { parseInventoryId } from './kinds/ResourceSetPanel';

describe('authMode', () => {
  it('names the secret, the provider or the service account, never a value', () => {
    expect(authMode({ secretRef: { name: 'ghcr' }, provider: 'aws' })).toBe(
      'Secret ghcr (spec.secretRef)',
    );
    expect(authMode({ provider: 'aws' })).toBe(
      'Cloud provider aws (spec.provider)',
    );
    expect(
      authMode({ provider: 'generic', serviceAccountName: 'puller' }),
    ).toBe('Pull secrets of service account puller');
    expect(authMode({ provider: 'generic' })).toBe('Anonymous');
  });
});

describe('exclusionList', () => {
  it('prefers what the scan applied, then the spec, then the Flux default', () => {
    expect(
      exclusionList(
        { exclusionList: ['^b'] },
        { observedExclusionList: ['^a'] },
      ),
    ).toEqual({
      patterns: ['^a'],
      origin: 'observed',
    });
    expect(exclusionList({ exclusionList: ['^b'] }, {})).toEqual({
      patterns: ['^b'],
      origin: 'spec',
    });
    expect(exclusionList({}, {})).toEqual({
      patterns: ['^.*\\.sig$'],
      origin: 'default',
    });
  });
});

describe('markerVerdicts', () => {
  const observedPolicies = {
    web: { name: 'ghcr.io/acme/web', tag: '1.2.0', digest: 'sha256:abcd' },
    api: { name: 'ghcr.io/acme/api', tag: '2.0.0' },
  };
  const marker = (setter: string, value: string) => ({
    file: 'deploy.yaml',
    line: 1,
    setter,
    value,
  });

  it('says which markers carry their policy selection, and why the others do not', () => {
    const verdicts = markerVerdicts('apps', {
      observedPolicies,
      markers: [
        marker('apps:web', 'ghcr.io/acme/web:1.2.0@sha256:abcd'),
        marker('apps:web:tag', '1.2.0'),
        marker('apps:web:name', 'ghcr.io/acme/web'),
        marker('apps:web:digest', 'sha256:abcd'),
        marker('apps:web:tag', '1.1.0'),
        marker('apps:api:digest', ''),
        marker('apps:gone', 'x:1'),
        marker('other:web', 'x:1'),
        marker('apps:web:version', '1'),
        marker('apps', 'x'),
      ],
    });
    expect(verdicts.map(v => [v.setter, v.applied, v.why])).toEqual([
      ['apps:web', true, undefined],
      ['apps:web:tag', true, undefined],
      ['apps:web:name', true, undefined],
      ['apps:web:digest', true, undefined],
      [
        'apps:web:tag',
        false,
        'holds 1.1.0, the policy selects 1.2.0: held by a pin or a promotion gate, or written by the next run',
      ],
      ['apps:api:digest', false, 'ImagePolicy api reflects no digest'],
      [
        'apps:gone',
        false,
        expect.stringMatching(
          /^ImagePolicy gone was not applied by the last run/,
        ),
      ],
      [
        'other:web',
        false,
        "names a policy in namespace other; only policies in the automation's namespace apps are applied",
      ],
      [
        'apps:web:version',
        false,
        "asks for 'version'; only tag, name and digest exist",
      ],
      [
        'apps',
        false,
        'not of the form <namespace>:<policy>[:tag|:name|:digest]',
      ],
    ]);
  });

  it('says a marker behind its selection is proposed in the open pull request', () => {
    const pullRequest = {
      number: 7,
      url: 'https://gitea.example.com/team/deploy/pulls/7',
      branch: 'image-automation/apps/web',
      base: 'main',
      versions: { web: '1.2.0' },
      promotions: [],
      updatedAt: '2026-11-22T01:00:00Z',
    };
    const behind = [marker('apps:web:tag', '1.1.0')];
    expect(
      markerVerdicts('apps', {
        observedPolicies,
        markers: behind,
        pullRequest: { ...pullRequest, state: 'open' },
      })[0].why,
    ).toBe(
      'holds 1.1.0, the policy selects 1.2.0: proposed in pull request #7 (web 1.2.0), written when it is merged',
    );
    // A closed pull request proposes nothing any more.
    expect(
      markerVerdicts('apps', {
        observedPolicies,
        markers: behind,
        pullRequest: { ...pullRequest, state: 'closed' },
      })[0].why,
    ).toMatch(/held by a pin or a promotion gate/);
  });

  it('is empty when the status lists no markers', () => {
    expect(markerVerdicts('apps', { observedPolicies })).toEqual([]);
  });
});

describe('collapseEvents', () => {
  const event = (id: number, reason: string, message = 'm'): ObjectEvent => ({
    id,
    objectId: 'ImagePolicy/apps/web',
    time: `2026-11-22T01:0${id}:00Z`,
    type: 'Normal',
    reason,
    message,
  });

  it('merges consecutive repeats only, keeping the newest-first order and the time span', () => {
    expect(
      collapseEvents([
        event(5, 'A'),
        event(4, 'A'),
        event(3, 'A', 'other'),
        event(2, 'B'),
        event(1, 'A'),
      ]),
    ).toEqual([
      {
        type: 'Normal',
        reason: 'A',
        message: 'm',
        count: 2,
        last: '2026-11-22T01:05:00Z',
        first: '2026-11-22T01:04:00Z',
      },
      {
        type: 'Normal',
        reason: 'A',
        message: 'other',
        count: 1,
        last: '2026-11-22T01:03:00Z',
        first: '2026-11-22T01:03:00Z',
      },
      {
        type: 'Normal',
        reason: 'B',
        message: 'm',
        count: 1,
        last: '2026-11-22T01:02:00Z',
        first: '2026-11-22T01:02:00Z',
      },
      {
        type: 'Normal',
        reason: 'A',
        message: 'm',
        count: 1,
        last: '2026-11-22T01:01:00Z',
        first: '2026-11-22T01:01:00Z',
      },
    ]);
  });
});

describe('ResourceSet and input provider helpers', () => {
  it('reads Flux inventory ids, core group and cluster-scoped included', () => {
    expect(parseInventoryId('apps_web_apps_Deployment')).toEqual({
      namespace: 'apps',
      name: 'web',
      group: 'apps',
      kind: 'Deployment',
    });
    expect(parseInventoryId('_apps__Namespace')).toEqual({
      namespace: '',
      name: 'apps',
      group: '',
      kind: 'Namespace',
    });
  });

  it('shows input values as text, non-strings as JSON', () => {
    expect(inputValue('1.2.0')).toBe('1.2.0');
    expect(inputValue(3)).toBe('3');
    expect(inputValue({ a: [1] })).toBe('{"a":[1]}');
  });
});
