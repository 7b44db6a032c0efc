export interface Config {
  /** The demo permission policy of this repository's backend. */
  permissionDemo?: {
    /**
     * `allow-all` (default) or `restrictive`: reads for everyone, suspend / resume /
     * reconcile only for the owners of the entity.
     */
    policy?: 'allow-all' | 'restrictive';
  };
}
