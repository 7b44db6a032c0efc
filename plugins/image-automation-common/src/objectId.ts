/**
 * The id of an automation object: `<kind>/<namespace>/<name>`, e.g. `ImagePolicy/apps/web`. The
 * store keys objects by it, the API's routes and views name objects with it, and events, scans,
 * inventories and promotions refer to objects by it. Kinds, namespaces and names never contain a
 * `/`, so the three parts are unambiguous.
 */

/** The three parts of an automation object's id. @public */
export interface AutomationObjectRef {
  kind: string;
  namespace: string;
  name: string;
}

/**
 * The id of the object `kind` `namespace`/`name`: `<kind>/<namespace>/<name>`. It only joins the
 * parts (what a caller passes is not checked); {@link parseObjectId} checks an id read from outside.
 * @public
 */
export function objectId(
  kind: string,
  namespace: string,
  name: string,
): string {
  return `${kind}/${namespace}/${name}`;
}

/** The id of an object given by its parts (see {@link objectId}). @public */
export function formatObjectId(ref: AutomationObjectRef): string {
  return objectId(ref.kind, ref.namespace, ref.name);
}

/** An object id that is not `<kind>/<namespace>/<name>` with three non-empty parts. @public */
export class InvalidObjectIdError extends Error {
  constructor(readonly id: string) {
    super(
      `invalid object id '${id}': expected <kind>/<namespace>/<name>, three non-empty parts separated by '/'`,
    );
    this.name = 'InvalidObjectIdError';
  }
}

/**
 * The parts of an object id, or undefined when `id` is not exactly three non-empty parts separated
 * by `/`.
 * @public
 */
export function tryParseObjectId(id: string): AutomationObjectRef | undefined {
  const parts = id.split('/');
  if (parts.length !== 3 || parts.some(part => part === '')) return undefined;
  const [kind, namespace, name] = parts;
  return { kind, namespace, name };
}

/**
 * The parts of an object id; throws {@link InvalidObjectIdError} (naming the id) when `id` is not
 * exactly three non-empty parts separated by `/`.
 * @public
 */
export function parseObjectId(id: string): AutomationObjectRef {
  const ref = tryParseObjectId(id);
  if (!ref) throw new InvalidObjectIdError(id);
  return ref;
}
