/**
 * Entity annotation listing the locations of automation manifests (YAML, one or more
 * documents each). Several locations are separated by commas or new lines; each is a URL or
 * a path relative to the entity's source location.
 * @public
 */
export const ANNOTATION_MANIFESTS = 'image-automation.io/manifests';

/**
 * Label that links an automation object to the catalog entity with the same
 * `backstage.io/kubernetes-id` annotation.
 * @public
 */
export const LABEL_KUBERNETES_ID = 'backstage.io/kubernetes-id';

/** The plugin id, used in routes and the discovery API. @public */
export const IMAGE_AUTOMATION_PLUGIN_ID = 'image-automation';
