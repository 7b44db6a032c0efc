export interface Config {
  /** Configuration of the image-automation backend plugin. */
  imageAutomation?: {
    /**
     * Manifest files owned by the platform team (not by an entity). Each is a URL read with
     * Backstage's URL reader, or a path under one of `fileRoots`.
     */
    locations?: Array<{
      /** The manifest file: a URL (read with the URL reader) or a path under one of `fileRoots`. */
      target: string;
      /** Entity the objects belong to, e.g. `component:default/podinfo`. */
      entityRef?: string;
    }>;
    /**
     * Which namespaces the objects of each catalog entity may live in and refer to (catalog
     * authors are untrusted). An entity's object in a namespace not granted to it is not created:
     * a placeholder with Stalled=True, reason `NamespaceNotGranted`, shows it on the entity. A
     * reference to another namespace (`sourceRef`, `imageRepositoryRef`, `dependsOn`) needs that
     * namespace granted to the same entity, or an `accessFrom` on an ImageRepository that admits
     * the referrer's namespace; else the object is Stalled with reason `AccessDenied`. A ResourceSet's
     * `serviceAccountName` is only impersonated in its own, granted, namespace. In clusters, the
     * grants also bound what an entity's ResourceSets do, on top of the cluster's
     * `allowedNamespaces`: every namespaced object applied (or dry-run), `copyFrom` source,
     * `dependsOn` target and pruned object, and every Namespace object, must be in a granted
     * namespace; otherwise nothing of the set is written (Ready=False, the refusal names the
     * namespace and entity) and pruning leaves the object in place (`PruneRefused`). Objects from
     * `locations` are platform-owned and not limited.
     */
    tenancy?: {
      /**
       * Grants: each names one `entity` (an entity ref, kind `component` by default) or one
       * `owner` (a group ref: entities whose `spec.owner` / ownedBy relation is that group; note
       * that catalog authors write `spec.owner` themselves, so grant by owner only where catalog
       * edits are reviewed). `*` in `namespaces` grants every namespace.
       */
      namespaces?: Array<{
        /** The entity granted the namespaces, e.g. `component:default/shop`. */
        entity?: string;
        /** The owner group whose entities are granted the namespaces, e.g. `group:default/team-a`. */
        owner?: string;
        /** The namespaces granted; `*` for every namespace. */
        namespaces: string[];
      }>;
      /**
       * Whether an entity may also use the namespace named after it (its `metadata.name`).
       * Never for reserved namespaces (`default`, `flux-system`, `kube-*`), a namespace named by
       * any grant above, one a platform location uses, or a name two entities share. Default true.
       */
      defaultNamespace?: boolean;
    };
    /**
     * Local directories from which `file:` manifests may be read (for catalogs that live on
     * disk, such as the demo catalog). Nothing outside them is read.
     */
    fileRoots?: string[];
    /**
     * URL prefixes (`https://host/path`, matched by whole path segments) from which entities'
     * `image-automation.io/manifests` may be read besides the directory of the entity's own
     * source location (`backstage.io/source-location` or `managed-by-location`). Anything else an
     * annotation names is refused, so an annotation cannot have the URL reader fetch another
     * repository with the integrations' tokens. Default none.
     */
    manifestUrlPrefixes?: string[];
    /**
     * Registry hosts (`host` or `host:port`) that may be contacted: to scan ImageRepositories,
     * list OCIArtifactTag inputs, fetch tokens from a registry's realm and follow page links.
     * `host` matches any port, a leading `*.` matches subdomains, `*` alone every host. Default
     * none: when absent or empty no registry is contacted, and objects naming one are Stalled
     * (`RegistryNotAllowed`) with a message naming the host and this key.
     */
    allowedRegistries?: string[];
    /**
     * The backend's own cloud identity, for ImageRepositories with `spec.provider` `aws`, `gcp` or
     * `azure` and the `ECRArtifactTag`, `GARArtifactTag` and `ACRArtifactTag` input providers
     * (docs/cloud-registries.md). Each provider is usable only by the entities in its
     * `allowedEntities` and only for the registries in its `registries` (which must also be in
     * `allowedRegistries`); absent or empty allows nothing, and a refused object is Stalled before
     * any token is requested.
     */
    cloudIdentity?: {
      /** Amazon ECR: `GetAuthorizationToken` with the AWS SDK's default credential chain (environment, shared files, web identity, ECS/EC2 roles). */
      aws?: {
        /** Entities that may use this identity (entity refs, e.g. `component:default/shop`). Default none. */
        allowedEntities?: string[];
        /** ECR registries it may be used for (`host`, `*.` for subdomains), e.g. `123456789012.dkr.ecr.eu-west-1.amazonaws.com`. Default none. */
        registries?: string[];
        /**
         * The ECR API endpoint, instead of the region's (taken from the registry host); for
         * testing, VPC endpoints and partitions the SDK does not know.
         */
        endpoint?: string;
      };
      /** Google Artifact Registry / Container Registry: an access token from application default credentials (`GOOGLE_APPLICATION_CREDENTIALS`, gcloud, the metadata server). */
      gcp?: {
        /** Entities that may use this identity. Default none. */
        allowedEntities?: string[];
        /** Registries it may be used for, e.g. `europe-docker.pkg.dev`, `*.gcr.io`. Default none. */
        registries?: string[];
      };
      /** Azure Container Registry: an Azure AD token exchanged at the registry's `/oauth2/exchange`. */
      azure?: {
        /** Entities that may use this identity. Default none. */
        allowedEntities?: string[];
        /** Registries it may be used for, e.g. `acme.azurecr.io`. Default none. */
        registries?: string[];
        /** Directory (tenant) ID; with `clientId` and `clientSecret` a service principal is used, else `DefaultAzureCredential`. */
        tenantId?: string;
        /** Application (client) ID of the service principal, or of the user-assigned managed identity. */
        clientId?: string;
        /**
         * The service principal's client secret.
         * @visibility secret
         */
        clientSecret?: string;
        /** The Azure AD authority host, for sovereign clouds and testing. Default `https://login.microsoftonline.com`. */
        authorityHost?: string;
      };
    };
    /** Outgoing notifications of Flux `Provider`s and `Alert`s (docs/notifications.md). */
    notifications?: {
      /**
       * Hosts (`host` or `host:port`, `*.` for subdomains, `*` for any) a Provider may send
       * notifications to. Default none: when absent or empty nothing is sent, and every Provider
       * is Stalled (`HostNotAllowed`) with a message naming its host and this key.
       */
      allowedHosts?: string[];
      /**
       * Hosts (as `allowedHosts`) notifications may be sent to over plain HTTP. Default none:
       * a Provider address must be `https://` otherwise.
       */
      insecureHosts?: string[];
      /**
       * Attempts per notification on 5xx, 429, timeouts and network errors, including the first.
       * Default 5 (Flux's one try and four retries).
       */
      attempts?: number;
      /** First wait before a retry, doubled each attempt, in seconds. Default 2. */
      retryMinSeconds?: number;
      /** Longest wait before a retry, in seconds. Default 30. */
      retryMaxSeconds?: number;
      /**
       * Identical events (same object and message) within this many seconds are sent
       * once, as Flux's `--rate-limit-interval`. Default 300.
       */
      rateLimitSeconds?: number;
      /** Notifications waiting to be sent, at most; more are dropped with a warning. Default 1000. */
      queueSize?: number;
    };
    /** How registries are contacted. */
    registry?: {
      /**
       * `n` of the first tag-list request. Default 1000 (Flux's); quay.io rejects more than 100.
       */
      pageSize?: number;
      /** Most tags a repository may have; a scan of more fails with a clear condition. Default 100000. */
      maxTags?: number;
      /** Requests in flight per registry. Default 8. */
      concurrencyPerRegistry?: number;
      /**
       * At most `requests` per `intervalSeconds` window per registry host, for all replicas
       * together (counted in the database; windows are aligned to the clock, so every replica
       * counts the same ones). A request that would miss its call's deadline waiting for the next
       * window fails as `budgetExceeded`.
       */
      requestBudget?: {
        /** Requests allowed per window. */
        requests: number;
        /** The window, in seconds. */
        intervalSeconds: number;
      };
      /** Attempts per request on 5xx, 429 and network errors, including the first. Default 3. */
      attempts?: number;
      /** Extra CA certificates (PEM) trusted for every registry. */
      ca?: string;
      /**
       * Registry hosts (`host[:port]`, `*.` for subdomains) credentials may be sent to over plain
       * HTTP (`spec.insecure`, loopback and private addresses are scanned over HTTP as Flux does,
       * but anonymously unless listed here). Default none.
       */
      insecureHosts?: string[];
    };
    /**
     * Where ResourceSetInputProviders that call other services (Git forges, `ExternalService`)
     * may send requests.
     */
    inputProviders?: {
      /**
       * Hosts (`host[:port]`, `*.` for subdomains, `*` for any) providers may call: the Git
       * forge's API host (e.g. `api.github.com`, `gitea.example.com`) or the external service.
       * Default none: a provider whose host is not listed is Stalled and no request is made.
       */
      allowedHosts?: string[];
      /** Of those, hosts that may be called over plain `http://`. Default none (https only). */
      insecureHosts?: string[];
    };
    /** How Git servers are reached (GitRepository, ImageUpdateAutomation). */
    git?: {
      /**
       * Hosts (`host[:port]`, `*.` for subdomains) that GitRepository URLs may reach over plain
       * `http://`. Every other Git URL must be `https://`, or SSH with an `sshKey` credential
       * (`file://`, `git://`, `ext::` and other transports are refused). Default none.
       */
      insecureHosts?: string[];
      /**
       * Repositories a GitRepository without `secretRef` may read (ls-remote, clone) with the
       * token of Backstage's `integrations` config for their host. Default none: a GitRepository
       * whose host has an integration but whose repository is under neither this list nor
       * `integrationPush` is Stalled (`IntegrationReadNotAllowed`) and the token is never sent.
       * Hosts without an integration are reached anonymously (public repositories).
       */
      integrationRead?: Array<{
        /** `host[:port]` as in the repository URL. */
        host: string;
        /** Repository path prefix, matched by whole segments (`team` allows `team/app.git`; `''` the whole host). */
        pathPrefix: string;
      }>;
      /**
       * Repositories an ImageUpdateAutomation may push to (and GitRepositories may read) with
       * the token of Backstage's `integrations` config for their host (when the GitRepository
       * has no `secretRef`). Default none: the integration token is never used to push.
       */
      integrationPush?: Array<{
        /** `host[:port]` as in the repository URL. */
        host: string;
        /** Repository path prefix, matched by whole segments (`team` allows `team/app.git`). */
        pathPrefix: string;
      }>;
      /**
       * Hosts where ImageUpdateAutomations annotated `image-automation.io/pull-request: "true"`
       * may open pull requests (see docs/git-automation.md). The API is called with the
       * credential Git uses for the repository (its `secretRef`, bound to the host, or the
       * `integrations` entry when `integrationPush` allows it). Default none: such an automation
       * is Stalled (`PullRequestHostNotAllowed`) and no API call is made.
       */
      pullRequests?: Array<{
        /** `host[:port]` as in the repository URL. */
        host: string;
        /**
         * The host's API: `gitea`, `github`, `gitlab` (merge requests) or `azure-devops` (Azure
         * DevOps Services or Server; the API is the repository's own collection and project, so
         * `apiBaseUrl` is not used). Bitbucket is not supported yet.
         */
        type: 'gitea' | 'github' | 'gitlab' | 'azure-devops';
        /**
         * The API's base URL. Defaults: `github` `https://api.github.com` for `github.com`, else
         * `https://<host>/api/v3` (GitHub Enterprise Server); `gitlab` `https://<host>/api/v4`;
         * `gitea` `https://<host>/api/v1`. A host served under a sub-path names it here
         * (`https://host/gitlab/api/v4`): repository URLs on that host must then start with the
         * sub-path. Plain `http://` gets a credential only on a host in `insecureHosts`.
         */
        apiBaseUrl?: string;
        /**
         * Ask the host to merge each pull request it opens by itself once its own rules pass
         * (GitHub: the GraphQL `enablePullRequestAutoMerge` mutation; GitLab: `auto_merge` on
         * accept; Gitea: merge when checks succeed; Azure DevOps: auto-complete). An automation's annotation
         * `image-automation.io/pull-request-auto-merge: "true"|"false"` overrides it. A host that
         * refuses (a repository without auto-merge) leaves the pull request open for a person and
         * the automation gets a Warning event. Default false.
         */
        autoMerge?: boolean;
        /**
         * Count the pull request's reviews as votes on the promotions it carries (cast as
         * `review:<host>/<login>`): a promotion waiting only for `approvals` is then proposed in a
         * pull request at once, and an approving review counts towards the gate; "changes
         * requested" is a rejection. Default false: only votes in Backstage count.
         */
        reviewsApprove?: boolean;
      }>;
      /**
       * Warm clones for ImageUpdateAutomations: one clone per repository URL, push branch and
       * credential (the GitRepository's `secretRef` name and secret, the integration token, or
       * none), kept between runs; each run fetches what changed (shallow) and resets the clone
       * (a forced checkout, `clean -ffdx`) instead of cloning. Clones are only shared between
       * automations whose entities were granted the same credential. Default: enabled.
       */
      cloneCache?: {
        /** `false`: every run clones afresh into a temporary directory. Default true. */
        enabled?: boolean;
        /** Clones kept at most; the least recently used is removed first. Default 50. */
        maxClones?: number;
        /**
         * Directory under which this process makes its clone directory (removed on shutdown).
         * Default `backend.workingDirectory`, else the OS temp directory.
         */
        directory?: string;
      };
    };
    /**
     * Named credentials that manifests refer to with `secretRef.name` (registry and Git
     * credentials) or `certSecretRef.name` (TLS: `ca`, `cert`, `key`).
     */
    credentials?: {
      /** A credential, under the name manifests use in `secretRef.name` / `certSecretRef.name`. */
      [name: string]: {
        /**
         * `basic`, `token`, `dockerConfigJson`, `tls` (CA and client certificate for registries),
         * or `clientCertificate` (for Kubernetes clusters; `token` serves clusters too), or
         * `githubApp` (a GitHub App installation, for `GitHub*` input providers), or `sshKey` (a
         * deploy key for GitRepository URLs `ssh://user@host[:port]/path` or `user@host:path`).
         */
        type:
          | 'basic'
          | 'token'
          | 'dockerConfigJson'
          | 'tls'
          | 'clientCertificate'
          | 'githubApp'
          | 'sshKey';
        /**
         * User name, for `basic`.
         * @visibility secret
         */
        username?: string;
        /**
         * Password, for `basic`.
         * @visibility secret
         */
        password?: string;
        /**
         * Bearer token, for `token` (registries, Git over HTTPS, Kubernetes clusters).
         * @visibility secret
         */
        token?: string;
        /**
         * The content of a Docker `config.json` (`{"auths": {...}}`), for `dockerConfigJson`.
         * @visibility secret
         */
        dockerConfigJson?: string;
        /**
         * For a `token` credential a notification `Provider` names: the address notifications go
         * to, used instead of the Provider's `spec.address` (as Flux reads the Secret's `address`
         * key), for addresses that are secrets themselves (Slack, Teams, Discord, Google Chat
         * webhook URLs). Its host must be in `hosts`; `token` may then be omitted.
         * @visibility secret
         */
        address?: string;
        /** CA certificate(s), PEM, for `tls`. */
        ca?: string;
        /** Client certificate, PEM, for `tls`. */
        cert?: string;
        /**
         * Client key, PEM, for `tls`.
         * @visibility secret
         */
        key?: string;
        /** Client certificate for `clientCertificate`, PEM or base64 of PEM. */
        certData?: string;
        /** The GitHub App's id, for `githubApp`. */
        appId?: string | number;
        /** The installation's id, for `githubApp` (or `installationOwner`, not both). */
        installationId?: string | number;
        /** The login of the organisation or user the app is installed on, for `githubApp` (or `installationId`). */
        installationOwner?: string;
        /**
         * The GitHub App's private key (PEM), for `githubApp`; the deploy key (OpenSSH or PEM
         * private key; Flux's Secret key `identity`), for `sshKey`.
         * @visibility secret
         */
        privateKey?: string;
        /**
         * The passphrase of an encrypted `sshKey` private key (Flux's Secret key `password`);
         * given to ssh through a file read by an askpass helper, never in argv or the environment.
         * @visibility secret
         */
        passphrase?: string;
        /**
         * For `sshKey`, required: `known_hosts` lines with the SSH server's host keys (Flux's
         * Secret key `known_hosts`; for a port other than 22 the host is written `[host]:port`).
         * ssh runs with `StrictHostKeyChecking=yes` against these lines only: an unknown or
         * changed host key fails (nothing is trusted on first use).
         */
        knownHosts?: string;
        /**
         * For `githubApp`: the API base URL installation tokens are minted at (e.g.
         * `https://github.example.com/api/v3`); default the repository host's API
         * (`https://api.github.com` for github.com). Its host must be in
         * `imageAutomation.inputProviders.allowedHosts`.
         */
        baseUrl?: string;
        /**
         * Client key for `clientCertificate`, PEM or base64 of PEM.
         * @visibility secret
         */
        keyData?: string;
        /**
         * Entities that may name this credential in a `secretRef`/`certSecretRef` (entity refs,
         * e.g. `component:default/shop`). Required: when absent, no entity may use it (the object
         * gets a condition "credential X is not granted to …"). Objects without an entity
         * (`locations` without `entityRef`) can use no credential. An automation using a
         * GitRepository of another entity needs both entities listed. Not needed for a
         * credential a Kubernetes cluster uses.
         */
        allowedEntities?: string[];
        /**
         * Where this credential may be sent (required for `secretRef`/`certSecretRef` use; when
         * absent, nowhere). Each entry is `host[:port]` (a leading `*.` for subdomains; no port
         * means any port) optionally followed by a repository path prefix, matched by whole
         * segments: `ghcr.io/acme` (images `ghcr.io/acme/...`), `git.example.com/team/`
         * (repositories under `https://git.example.com/team/`; for `sshKey`, the SSH host[:port] and
         * repository path of `ssh://git@git.example.com/team/...`). A registry's token realm on
         * another host gets the credential only when that host is listed here too (e.g.
         * `auth.docker.io` for Docker Hub). A credential named by
         * `imageAutomation.kubernetes.clusters[].credential` is reserved for that cluster and can
         * never be named by a manifest.
         */
        hosts?: string[];
      };
    };
    /**
     * Commit signing keys that ImageUpdateAutomations name with
     * `git.commit.signingKey.secretRef.name` (Flux's `git.asc` / `identity` secrets).
     */
    signingKeys?: {
      /** A signing key, under the name automations use in `signingKey.secretRef.name`. */
      [name: string]: {
        /** `gpg` (ASCII-armored OpenPGP private key) or `ssh` (OpenSSH private key, no passphrase). */
        type: 'gpg' | 'ssh';
        /**
         * The private key (ASCII-armored for `gpg`, OpenSSH format for `ssh`).
         * @visibility secret
         */
        privateKey: string;
        /**
         * Passphrase of a `gpg` key.
         * @visibility secret
         */
        passphrase?: string;
        /**
         * Entities whose automations may sign with this key. Required: when absent, no entity may.
         */
        allowedEntities?: string[];
      };
    };
    /** Writing into Kubernetes clusters (Gitless automation). */
    kubernetes?: {
      /** Server-side apply field manager. Default `image-automation`. */
      fieldManager?: string;
      /** Take over fields another field manager owns, on every cluster. Default false. */
      force?: boolean;
      /** Requests in flight per cluster. Default 8. */
      concurrency?: number;
      /**
       * The clusters automation may write to, with what it may write. A cluster is used only when
       * listed here: clusters of `kubernetes.clusterLocatorMethods` that are not listed are not
       * used (a ResourceSet targeting one fails with a condition naming it), and a cluster from
       * the catalog also needs a credential and its API server URL. Every list below fails
       * closed: absent or empty allows nothing; `*` allows everything of that list. Whether an
       * object is namespaced is asked of the API server (discovery), never read from the manifest.
       * The same policy is checked on apply, dry run (promotion preview), `copyFrom` sources,
       * `dependsOn` reads and prune (an object it no longer covers is left in place, with Ready=False
       * reason `PruneRefused`).
       */
      clusters?: Array<{
        /** The cluster's name (in `kubernetes.clusterLocatorMethods` or the catalog). */
        name: string;
        /** A `token` or `clientCertificate` entry of `imageAutomation.credentials`. */
        credential?: string;
        /** The API server URL the credential may be sent to. */
        url?: string;
        /** Take over fields another field manager owns on this cluster. Default: `kubernetes.force`. */
        force?: boolean;
        /**
         * Namespaces automation may write to and read from (`copyFrom` sources, `dependsOn`
         * targets); `*` for all. Default none. A catalog entity's ResourceSets are further limited
         * to the namespaces granted to the entity (`imageAutomation.tenancy.namespaces`).
         */
        allowedNamespaces?: string[];
        /**
         * Namespaced kinds automation may write and read (`Kind` or `group/Kind`, core group
         * `/ConfigMap`); `*` for all namespaced kinds. Default none. A `dependsOn` on a Secret is
         * always refused.
         */
        allowedKinds?: string[];
        /**
         * Cluster-scoped kinds automation may write (`Namespace`, `rbac.authorization.k8s.io/ClusterRole`,
         * `apiextensions.k8s.io/CustomResourceDefinition`, …); `*` for all. Default none. A
         * Namespace object also needs its name in `allowedNamespaces`.
         */
        allowedClusterScopedKinds?: string[];
        /**
         * Entities (refs, e.g. `component:default/shop`) whose ResourceSets may target this
         * cluster; `*` for any entity (and objects of `locations` without an entity). Default none.
         */
        allowedEntities?: string[];
        /**
         * Owners (refs, e.g. `group:default/team-a`): ResourceSets of entities whose `spec.owner`
         * is one of them may target this cluster; `*` for any owner. Default none. Catalog authors
         * write `spec.owner` themselves: prefer `allowedEntities` where catalog edits are not reviewed.
         */
        allowedOwners?: string[];
      }>;
    };
    /** The reconcile loop. */
    engine?: {
      /** How often a pass looks for due objects, in seconds. Default 5. */
      pollIntervalSeconds?: number;
      /** How many objects one pass takes at most. Default 20. */
      batchSize?: number;
      /**
       * How long a lease on an object lasts, in seconds. Default 300. A running reconcile renews
       * it every third of that; one that cannot renew it stops a sixth before it runs out (writing
       * nothing more), as does one whose lease another replica took.
       */
      leaseSeconds?: number;
      /**
       * How long a ResourceSet must have been gone from its source before what it applied is
       * uninstalled, in seconds. One that comes back meanwhile keeps everything. Default 600.
       */
      uninstallGraceSeconds?: number;
      /**
       * How long the engine may go without progress (a pass or a reconcile completed, a lease
       * renewed) before `GET /api/image-automation/health` answers 503, in seconds. Default ten
       * poll intervals, or the lease length when longer (300 with the defaults).
       */
      stalledAfterSeconds?: number;
      /** How often manifests are re-read from their sources, in seconds. Default 120. */
      refreshIntervalSeconds?: number;
      /**
       * The shortest interval an object may ask for (`spec.interval`, the
       * `fluxcd.controlplane.io/reconcileEvery` annotation), in seconds. Shorter ones are refused:
       * the object is Stalled with reason `IntervalTooShort`, naming the minimum. Default 60.
       */
      minIntervalSeconds?: number;
      /**
       * The shortest timeout an object may ask for (`spec.timeout`, `spec.steps[].timeout`, the
       * `fluxcd.controlplane.io/reconcileTimeout` annotation), in seconds; refused the same way.
       * Default 1.
       */
      minTimeoutSeconds?: number;
    };
    /**
     * Flux `Receiver`s: the unauthenticated webhook route `POST /api/image-automation/hook/<digest>`
     * (docs/notifications.md, "Receivers").
     */
    receivers?: {
      /** Larger request bodies are refused with 413 before they are read. Default 1048576 (1 MiB). */
      maxBodyBytes?: number;
      /**
       * Authenticated calls one receiver may make per interval, per backend replica (a token
       * bucket holding `requests`); more are answered 429 with Retry-After. Default 120 per 60 s.
       */
      rateLimit?: {
        /** Calls per interval (and the most a receiver may send at once). Default 120. */
        requests?: number;
        /** The interval, in seconds. Default 60. */
        intervalSeconds?: number;
      };
      /**
       * Calls are answered at once; the objects a receiver lists are made due when its calls have
       * stopped for this long, so a burst of calls costs one reconcile per object. Default 1000.
       */
      coalesceMilliseconds?: number;
      /** …but at most this long after the first call of a burst. Default 10 × `coalesceMilliseconds`. */
      maxDelayMilliseconds?: number;
      /**
       * How often each replica re-reads the receivers' webhook paths from the database (a path
       * it does not know also triggers a re-read, at most once a second). Default 10.
       */
      refreshSeconds?: number;
    };
    /** Retention of scans, events and gone tags; pruned hourly by one instance. */
    retention?: {
      /** Scans older than this many days are deleted. Default 30. */
      scanDays?: number;
      /** At most this many scans are kept per repository. Default 500. */
      scansPerRepository?: number;
      /** Events older than this many days are deleted. Default: `scanDays` (30). */
      eventDays?: number;
      /** At most this many events are kept per automation object (the newest). Default 1000. */
      eventsPerObject?: number;
      /**
       * The history of a tag gone from its repository (shown with "include gone tags") is deleted
       * this many days after it went. Default 30.
       */
      goneTagDays?: number;
      /** At most this many gone tags are remembered per repository (the most recently gone). Default 1000. */
      goneTagsPerRepository?: number;
    };
  };
}
