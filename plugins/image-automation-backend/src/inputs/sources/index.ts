import { InputSource } from './types';
import {
  giteaBranchSource,
  giteaPullRequestSource,
  giteaTagSource,
} from './gitea';
import { githubSource } from './github';
import { gitlabSource } from './gitlab';
import {
  azureDevOpsBranchSource,
  azureDevOpsPullRequestSource,
  azureDevOpsTagSource,
} from './azureDevOps';
import { externalServiceSource } from './externalService';

export type {
  InputSource,
  InputSourceContext,
  InputSourceResult,
} from './types';

/**
 * The ResourceSetInputProvider types served by a source of this folder, by `spec.type`. `Static`
 * and `OCIArtifactTag` are served by the reconciler itself (OCIArtifactTag shares registry
 * listings fleet-wide); a type in neither is Stalled `ProviderNotSupported`.
 * @internal
 */
export const INPUT_SOURCES: Readonly<Record<string, InputSource>> = {
  GiteaBranch: giteaBranchSource,
  GiteaTag: giteaTagSource,
  GiteaPullRequest: giteaPullRequestSource,
  GitHubBranch: githubSource,
  GitHubTag: githubSource,
  GitHubPullRequest: githubSource,
  GitLabBranch: gitlabSource,
  GitLabTag: gitlabSource,
  GitLabMergeRequest: gitlabSource,
  GitLabEnvironment: gitlabSource,
  AzureDevOpsBranch: azureDevOpsBranchSource,
  AzureDevOpsTag: azureDevOpsTagSource,
  AzureDevOpsPullRequest: azureDevOpsPullRequestSource,
  ExternalService: externalServiceSource,
};
