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

/**
 * Prefix of the promotion gate annotations, set on an ImageUpdateAutomation, a ResourceSet or
 * their entity (the object's value wins). An annotation with this prefix that is not one of the
 * gates below is an error, so a typo never silently removes a gate.
 * @public
 */
export const PROMOTION_ANNOTATION_PREFIX = 'promotion.image-automation.io/';

/**
 * Promotion gate annotations. Without any, a promotion is carried out on the next pass, exactly
 * as Flux does.
 * @public
 */
export const PROMOTION_ANNOTATIONS = {
  /** How many of the entity's owners must approve (a positive integer). */
  approvals: `${PROMOTION_ANNOTATION_PREFIX}approvals`,
  /** Minimum age since the tag was first seen in scan history (Go duration, e.g. `24h`). */
  soak: `${PROMOTION_ANNOTATION_PREFIX}soak`,
  /** When promotions may be carried out: a cron spec (5 fields or a descriptor) opening a window. */
  window: `${PROMOTION_ANNOTATION_PREFIX}window`,
  /** How long each window stays open (Go duration). Required with `window`. */
  windowDuration: `${PROMOTION_ANNOTATION_PREFIX}window-duration`,
  /** The IANA time zone of `window` (default `UTC`). */
  windowTimeZone: `${PROMOTION_ANNOTATION_PREFIX}window-time-zone`,
  /** The upstream entity (an entity ref) that must run the same digest first. */
  after: `${PROMOTION_ANNOTATION_PREFIX}after`,
  /** Narrows `after` to one target of the upstream entity: a cluster name or an object id. */
  afterTarget: `${PROMOTION_ANNOTATION_PREFIX}after-target`,
  /** How long the upstream target must have run the digest, Ready (Go duration, default `0s`). */
  afterSoak: `${PROMOTION_ANNOTATION_PREFIX}after-soak`,
} as const;
