import { condition, objectView } from '../../testing/fixtures';
import { diagnose, parseCauses } from './diagnose';
import { objectState } from './objectState';

describe('parseCauses', () => {
  it('splits the API server message into one cause per field path', () => {
    expect(
      parseCauses(
        'ImagePolicy "web" is invalid: spec.policy.semver.range: Invalid value: ">=1, <2": bad, spec.filterTags.pattern: Required value, spec.selectors[0]: name and matchLabels/matchExpressions are mutually exclusive',
      ),
    ).toEqual([
      {
        field: 'spec.policy.semver.range',
        message: 'Invalid value: ">=1, <2": bad',
      },
      { field: 'spec.filterTags.pattern', message: 'Required value' },
      {
        field: 'spec.selectors[0]',
        message: 'name and matchLabels/matchExpressions are mutually exclusive',
      },
    ]);
  });

  it('keeps any other message whole, without a field', () => {
    expect(parseCauses('GET https://ghcr.io/v2/: 401 Unauthorized')).toEqual([
      { message: 'GET https://ghcr.io/v2/: 401 Unauthorized' },
    ]);
  });
});

describe('diagnose', () => {
  it('says nothing about a Ready object', () => {
    const ready = objectView('ImageRepository', 'web', {
      status: { conditions: [condition('Ready', 'True', 'Succeeded', 'ok')] },
    });
    expect(diagnose(ready, objectState(ready))).toBeUndefined();
  });

  it('gives a Stalled manifest error a fix per field, the Stalled rule, and the kind docs', () => {
    const stalled = objectView('ImageRepository', 'redis', {
      status: {
        conditions: [
          condition(
            'Stalled',
            'True',
            'InvalidManifest',
            'ImageRepository "redis" is invalid: spec.intervall: unknown field, spec.interval: Required value, spec.provider: Unsupported value: "ibm"',
          ),
        ],
      },
    });
    const diagnosis = diagnose(stalled, objectState(stalled))!;
    expect(diagnosis.detected).toBe('Stalled: InvalidManifest');
    expect(diagnosis.since).toBe('2026-11-20T08:00:00Z');
    const where = 'url:https://example.test/podinfo/automation.yaml';
    expect(diagnosis.causes).toEqual([
      {
        field: 'spec.intervall',
        message: 'unknown field',
        fix: `Remove spec.intervall from ${where}, or correct its spelling.`,
      },
      {
        field: 'spec.interval',
        message: 'Required value',
        fix: `Add spec.interval to ${where}.`,
      },
      {
        field: 'spec.provider',
        message: 'Unsupported value: "ibm"',
        fix: `Correct spec.provider in ${where}.`,
      },
    ]);
    expect(diagnosis.fix).toMatch(
      /^A Stalled object is not retried until its manifest changes/,
    );
    expect(diagnosis.docs).toEqual({
      title: 'ImageRepository reference',
      url: 'https://fluxcd.io/flux/components/image/imagerepositories/',
    });
  });

  it('explains a failing object by its reason, and that the engine retries', () => {
    const failing = objectView('ImageRepository', 'web', {
      nextRunAt: '2026-11-22T02:01:00Z',
      status: {
        conditions: [
          condition(
            'Ready',
            'False',
            'AuthenticationFailed',
            'GET https://ghcr.io/v2/: 401 Unauthorized',
          ),
        ],
      },
    });
    const diagnosis = diagnose(failing, objectState(failing))!;
    expect(diagnosis.detected).toBe('Failing: AuthenticationFailed');
    expect(diagnosis.causes).toEqual([
      {
        message: 'GET https://ghcr.io/v2/: 401 Unauthorized',
        fix: 'Check the credential named in spec.secretRef (or the provider); its value is never shown here.',
      },
    ]);
    expect(diagnosis.fix).toBe(
      'The engine retries by itself (next run 2026-11-22 02:01:00 UTC); Reconcile retries now.',
    );
  });

  it('has no docs link for a kind without reference docs', () => {
    const error = objectView('ManifestError', 'manifest-1', {
      status: {
        conditions: [
          condition(
            'Stalled',
            'True',
            'InvalidManifest',
            'document 2: invalid YAML',
          ),
        ],
      },
    });
    const diagnosis = diagnose(error, objectState(error))!;
    expect(diagnosis.docs).toBeUndefined();
    expect(diagnosis.causes[0].fix).toBe(
      'Fix the manifest in url:https://example.test/podinfo/automation.yaml.',
    );
  });

  it('keeps an old apiVersion or an unsupported field message whole, with its fix', () => {
    const message =
      'ImagePolicy image.toolkit.fluxcd.io/v1beta1 is not supported (Flux no longer serves v1beta1): set apiVersion: image.toolkit.fluxcd.io/v1; the rest of the spec carries over unchanged';
    const old = objectView('ImagePolicy', 'web', {
      status: {
        conditions: [
          condition('Stalled', 'True', 'UnsupportedAPIVersion', message),
        ],
      },
    });
    expect(diagnose(old, objectState(old))!.causes).toEqual([
      {
        message,
        fix: 'Set the apiVersion the message names, and move or remove the fields it lists.',
      },
    ]);
    const proxy =
      'spec.proxySecretRef is not supported: registry calls cannot go through a per-object proxy here; remove spec.proxySecretRef if they may go directly';
    const field = objectView('ImageRepository', 'web', {
      status: {
        conditions: [condition('Stalled', 'True', 'FieldNotSupported', proxy)],
      },
    });
    expect(diagnose(field, objectState(field))!.causes).toEqual([
      {
        message: proxy,
        fix: 'Remove the field the message names (this plugin cannot honour it), or leave this object to Flux.',
      },
    ]);
  });
});
