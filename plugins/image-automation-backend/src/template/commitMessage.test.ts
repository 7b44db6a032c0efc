import { GoStruct, GoValue } from '../golib/reflect';
import { renderTemplate } from './index';

/** `types.NamespacedName`: prints as `<namespace>/<name>`. */
function namespacedName(namespace: string, name: string): GoStruct {
  return new GoStruct(
    'types.NamespacedName',
    { Namespace: namespace, Name: name },
    { String: () => `${namespace}/${name}` },
  );
}

/** kyaml's ResourceIdentifier as embedded in update.ObjectIdentifier (field order = sort order). */
function objectId(
  apiVersion: string,
  kind: string,
  name: string,
  namespace: string,
): GoStruct {
  return new GoStruct('update.ObjectIdentifier', {
    APIVersion: apiVersion,
    Kind: kind,
    Name: name,
    Namespace: namespace,
  });
}

const change = (oldValue: string, newValue: string, setter: string): GoStruct =>
  new GoStruct('update.Change', {
    OldValue: oldValue,
    NewValue: newValue,
    Setter: setter,
  });

// The commit message template of the image-automation-controller tests (its ResultV2 template), written anew.
const TEMPLATE = `Commit summary with ResultV2

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

describe('commit message templates ({{ }}, sprig)', () => {
  const deployment = objectId('apps/v1', 'Deployment', 'test', '');
  const data: GoValue = new GoStruct('source.TemplateData', {
    AutomationObject: namespacedName('test-ns', 'test-update'),
    Changed: new GoStruct('update.ResultV2', {
      FileChanges: {
        'deploy.yaml': new Map<GoValue, GoValue>([
          [
            deployment,
            [change('helloworld:1.0.0', 'helloworld:1.0.1', 'test-ns:policy')],
          ],
        ]),
      },
    }),
    Values: { cluster: 'prod', testing: 'value' },
  });

  it('renders the controller ResultV2 vector (an empty namespace prints as //)', () => {
    expect(
      renderTemplate({
        name: 'msg',
        text: TEMPLATE,
        data,
        funcs: 'commitMessage',
      }),
    ).toBe(
      'Commit summary with ResultV2\n\nAutomation: test-ns/test-update\n\n- File: deploy.yaml\n  - Object: Deployment//test\n    Changes:\n    - helloworld:1.0.0 -> helloworld:1.0.1\n',
    );
  });

  it('reads .Values by field and by index', () => {
    expect(
      renderTemplate({
        name: 'msg',
        text: 'Cluster: {{ .Values.cluster }}\nTesting: {{ index .Values "testing" }}\n',
        data,
        funcs: 'commitMessage',
      }),
    ).toBe('Cluster: prod\nTesting: value\n');
  });

  it("reports a removed field with Go's error text", () => {
    expect(() =>
      renderTemplate({
        name: 'msg',
        text: '{{ .Updated.Files }}',
        data,
        funcs: 'commitMessage',
      }),
    ).toThrow(
      'template: msg:1:11: executing "msg" at <.Updated.Files>: can\'t evaluate field Updated in type source.TemplateData',
    );
  });
});
