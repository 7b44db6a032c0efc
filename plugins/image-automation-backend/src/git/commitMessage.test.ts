import { SetterChange } from './applySetters';
import {
  commitTemplateData,
  DEFAULT_COMMIT_MESSAGE,
  RemovedTemplateFieldError,
  renderCommitMessage,
} from './commitMessage';

const deployment = {
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  name: 'test',
  namespace: '',
};
const change = (overrides: Partial<SetterChange> = {}): SetterChange => ({
  line: 1,
  setter: 'test-ns:policy',
  oldValue: 'helloworld:1.0.0',
  newValue: 'helloworld:1.0.1',
  object: deployment,
  ...overrides,
});

// Flux's `testCommitTemplateResultV2` (internal/source/source_test.go).
const RESULT_V2 = `Commit summary with ResultV2

Automation: {{ .AutomationObject }}

{{ range $filename, $objchange := .Changed.FileChanges -}}
- File: {{ $filename }}
{{- range $obj, $changes := $objchange }}
  - Object: {{ $obj.Kind }}/{{ $obj.Namespace }}/{{ $obj.Name }}
    Changes:
{{- range $_ , $change := $changes }}
    - {{ $change.OldValue }} -> {{ $change.NewValue }}
{{ end -}}
{{ end -}}
{{ end -}}
`;

describe('commit message', () => {
  const data = (
    fileChanges: Map<string, SetterChange[]>,
    values?: Record<string, string>,
  ) =>
    commitTemplateData({
      namespace: 'test-ns',
      name: 'test-update',
      fileChanges,
      values,
    });

  it("renders Flux's ResultV2 vector exactly", () => {
    expect(
      renderCommitMessage(
        RESULT_V2,
        data(new Map([['deploy.yaml', [change()]]])),
      ),
    ).toBe(
      'Commit summary with ResultV2\n\nAutomation: test-ns/test-update\n\n- File: deploy.yaml\n  - Object: Deployment//test\n    Changes:\n    - helloworld:1.0.0 -> helloworld:1.0.1\n',
    );
  });

  it('exposes .Values', () => {
    const text =
      'Cluster: {{ .Values.cluster }}\nTesting: {{ index .Values "testing" }}\n';
    expect(
      renderCommitMessage(
        text,
        data(new Map(), { cluster: 'prod', testing: 'value' }),
      ),
    ).toBe('Cluster: prod\nTesting: value\n');
  });

  it('treats a missing .Values key as no value, as Go does without a missingkey option', () => {
    expect(
      renderCommitMessage(
        '{{ default "none" .Values.missing }} [{{ .Values.missing }}]',
        data(new Map(), { cluster: 'prod' }),
      ),
    ).toBe('none [<no value>]');
  });

  it('uses the default message and sprig functions', () => {
    expect(renderCommitMessage(undefined, data(new Map()))).toBe(
      DEFAULT_COMMIT_MESSAGE,
    );
    expect(
      renderCommitMessage(
        '{{ .AutomationObject.Name | upper }}',
        data(new Map()),
      ),
    ).toBe('TEST-UPDATE');
  });

  it('lists .Changed.Changes deduplicated in file order and merges .Changed.Objects across files', () => {
    const other = { ...deployment, name: 'a-first' };
    const fileChanges = new Map([
      [
        'b.yaml',
        [
          change(),
          change({ object: other, setter: 's2', oldValue: 'x', newValue: 'y' }),
        ],
      ],
      ['a.yaml', [change()]],
    ]);
    const text =
      '{{ range .Changed.Changes }}{{ .Setter }} {{ end }}|' +
      '{{ range $o, $c := .Changed.Objects }}{{ $o.Name }}={{ len $c }} {{ end }}';
    expect(renderCommitMessage(text, data(fileChanges))).toBe(
      'test-ns:policy s2 |a-first=1 test=2 ',
    );
  });

  it("stalls on removed fields with Flux's message", () => {
    expect(() =>
      renderCommitMessage(
        '{{ range .Updated.Images }}{{ . }}{{ end }}',
        data(new Map()),
      ),
    ).toThrow(
      new RemovedTemplateFieldError(
        "template uses removed '.Updated' field. Please use '.Changed' instead. See: https://fluxcd.io/flux/components/image/imageupdateautomations/#message-template",
      ),
    );
    expect(() =>
      renderCommitMessage('{{ .Changed.ImageResult }}', data(new Map())),
    ).toThrow(RemovedTemplateFieldError);
  });

  it("reports parse and execution errors with Flux's prefixes", () => {
    expect(() => renderCommitMessage('{{ now }}', data(new Map()))).toThrow(
      /^unable to create commit message template from spec: template: commit message:1: function "now" not defined/,
    );
    expect(() =>
      renderCommitMessage('{{ fail "no" }}', data(new Map())),
    ).toThrow(/^failed to run template from spec: /);
  });
});
