export interface Config {
  /** Configuration of the image-automation plugins. */
  imageAutomation?: {
    /**
     * Where the entity tab's empty state links for how to write the manifests that the
     * `image-automation.io/manifests` annotation names. Defaults to Flux's image update guide,
     * https://fluxcd.io/flux/guides/image-update/.
     * @visibility frontend
     */
    docsUrl?: string;
  };
}
