import { GoStruct, GoValue } from '../golib/reflect';
import { executeTemplate, parseTemplate } from '../template';
import { SetterChange } from './applySetters';
import { ObjectIdentity } from './findMarkedScalars';

/** Flux's default commit message. @internal */
export const DEFAULT_COMMIT_MESSAGE = 'Update from image update automation';

const DOCS =
  'https://fluxcd.io/flux/components/image/imageupdateautomations/#message-template';

/** A template that uses a field Flux removed in v1 (Stalled `RemovedTemplateField`). @internal */
export class RemovedTemplateFieldError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RemovedTemplateFieldError';
  }
}

function objectKey(o: ObjectIdentity): string {
  return JSON.stringify([o.apiVersion, o.kind, o.name, o.namespace]);
}

/**
 * The data Flux gives the commit message template (`TemplateData`): `.AutomationObject`
 * (prints `namespace/name`), `.Changed` (`FileChanges`, and the methods `Changes` and
 * `Objects`) and `.Values`. Maps are ranged in key order (Go's fmtsort); `.Changed.Changes`,
 * a Go map iteration upstream, is in file then line order here so messages are deterministic.
 * @internal
 */
export function commitTemplateData(options: {
  namespace: string;
  name: string;
  fileChanges: ReadonlyMap<string, SetterChange[]>;
  values?: Record<string, string>;
}): GoValue {
  const identities = new Map<string, GoStruct>();
  const identity = (o: ObjectIdentity) => {
    const key = objectKey(o);
    let id = identities.get(key);
    if (!id) {
      id = new GoStruct('update.ObjectIdentifier', {
        APIVersion: o.apiVersion,
        Kind: o.kind,
        Name: o.name,
        Namespace: o.namespace,
      });
      identities.set(key, id);
    }
    return id;
  };
  const change = (c: SetterChange) =>
    new GoStruct('update.Change', {
      OldValue: c.oldValue,
      NewValue: c.newValue,
      Setter: c.setter,
    });

  const files = [...options.fileChanges.keys()].sort();
  const fileChanges: Record<string, GoValue> = {};
  const objects = new Map<GoValue, GoValue>();
  const changes: GoValue[] = [];
  const seen = new Set<string>();
  for (const file of files) {
    const perObject = new Map<GoValue, GoValue>();
    for (const c of options.fileChanges.get(file)!) {
      const id = identity(c.object);
      const value = change(c);
      (
        (perObject.get(id) as GoValue[] | undefined) ??
        (perObject.set(id, []).get(id) as GoValue[])
      ).push(value);
      (
        (objects.get(id) as GoValue[] | undefined) ??
        (objects.set(id, []).get(id) as GoValue[])
      ).push(value);
      const key = JSON.stringify([c.oldValue, c.newValue, c.setter]);
      if (!seen.has(key)) {
        seen.add(key);
        changes.push(value);
      }
    }
    fileChanges[file] = perObject;
  }
  const changed = new GoStruct(
    'update.Result',
    { FileChanges: fileChanges },
    { Changes: () => changes, Objects: () => objects },
  );
  const automation = new GoStruct(
    'types.NamespacedName',
    { Namespace: options.namespace, Name: options.name },
    { String: () => `${options.namespace}/${options.name}` },
  );
  return new GoStruct('source.TemplateData', {
    AutomationObject: automation,
    Changed: changed,
    Values: { ...(options.values ?? {}) },
  });
}

/**
 * Renders the commit message as Flux does (Go text/template with sprig's hermetic functions),
 * with Flux's error texts; a template using the removed `.Updated` or `.Changed.ImageResult`
 * throws {@link RemovedTemplateFieldError}.
 * @internal
 */
export function renderCommitMessage(
  template: string | undefined,
  data: GoValue,
): string {
  let parsed;
  try {
    parsed = parseTemplate({
      name: 'commit message',
      text: template || DEFAULT_COMMIT_MESSAGE,
      funcs: 'commitMessage',
    });
  } catch (error) {
    throw new Error(
      `unable to create commit message template from spec: ${
        (error as Error).message
      }`,
    );
  }
  try {
    // No `missingkey` option upstream: Go's default (a missing map key is no value).
    return executeTemplate(parsed, { data, missingKey: 'default' });
  } catch (error) {
    const message = (error as Error).message;
    if (/can't evaluate field Updated\b/.test(message)) {
      throw new RemovedTemplateFieldError(
        `template uses removed '.Updated' field. Please use '.Changed' instead. See: ${DOCS}`,
      );
    }
    if (/can't evaluate field ImageResult\b/.test(message)) {
      throw new RemovedTemplateFieldError(
        `template uses removed '.Changed.ImageResult' field. Please use '.Changed.FileChanges' or '.Changed.Objects' instead. See: ${DOCS}`,
      );
    }
    throw new Error(`failed to run template from spec: ${message}`);
  }
}

/**
 * The commit message of an automation run: its `spec.git.commit.messageTemplate` (Flux's default
 * without one) over what the setters changed and `messageTemplateValues`, as
 * {@link renderCommitMessage} renders it.
 * @internal
 */
export function automationCommitMessage(
  automation: { namespace: string; name: string },
  commit:
    | {
        messageTemplate?: string;
        messageTemplateValues?: Record<string, string>;
      }
    | undefined,
  fileChanges: ReadonlyMap<string, SetterChange[]>,
): string {
  return renderCommitMessage(
    commit?.messageTemplate,
    commitTemplateData({
      namespace: automation.namespace,
      name: automation.name,
      fileChanges,
      values: commit?.messageTemplateValues,
    }),
  );
}
