/** How `git commit -S` signs: settings and environment for one commit. @internal */
export interface CommitSigner {
  config: Record<string, string>;
  env: Record<string, string>;
  remove(): Promise<void>;
}
