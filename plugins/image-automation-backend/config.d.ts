export interface Config {
  /** Configuration of the image-automation backend plugin. */
  imageAutomation?: {
    /**
     * Manifest files owned by the platform team (not by an entity). Each is a URL read with
     * Backstage's URL reader, or a path under one of `fileRoots`.
     */
    locations?: Array<{
      target: string;
      /** Entity the objects belong to, e.g. `component:default/podinfo`. */
      entityRef?: string;
    }>;
    /**
     * Local directories from which `file:` manifests may be read (for catalogs that live on
     * disk, such as the demo catalog). Nothing outside them is read.
     */
    fileRoots?: string[];
    /**
     * Registry hosts (`host` or `host:port`) that may be contacted. A leading `*.` matches
     * subdomains. When absent, every host may be contacted: set it in production.
     */
    allowedRegistries?: string[];
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
      /** At most `requests` per `intervalSeconds` per registry. */
      requestBudget?: { requests: number; intervalSeconds: number };
      /** Attempts per request on 5xx, 429 and network errors, including the first. Default 3. */
      attempts?: number;
      /** Extra CA certificates (PEM) trusted for every registry. */
      ca?: string;
    };
    /**
     * Named credentials that manifests refer to with `secretRef.name` (registry and Git
     * credentials) or `certSecretRef.name` (TLS: `ca`, `cert`, `key`).
     */
    credentials?: {
      [name: string]: {
        /**
         * `basic`, `token`, `dockerConfigJson`, `tls` (CA and client certificate for registries),
         * or `clientCertificate` (for Kubernetes clusters; `token` serves clusters too).
         */
        type: 'basic' | 'token' | 'dockerConfigJson' | 'tls' | 'clientCertificate';
        /** @visibility secret */
        username?: string;
        /** @visibility secret */
        password?: string;
        /** @visibility secret */
        token?: string;
        /** @visibility secret */
        dockerConfigJson?: string;
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
        /**
         * Client key for `clientCertificate`, PEM or base64 of PEM.
         * @visibility secret
         */
        keyData?: string;
        /**
         * Entities that may use this credential (entity refs). When absent, any entity may.
         */
        allowedEntities?: string[];
      };
    };
    /**
     * Commit signing keys that ImageUpdateAutomations name with
     * `git.commit.signingKey.secretRef.name` (Flux's `git.asc` / `identity` secrets).
     */
    signingKeys?: {
      [name: string]: {
        /** `gpg` (ASCII-armored OpenPGP private key) or `ssh` (OpenSSH private key, no passphrase). */
        type: 'gpg' | 'ssh';
        /** @visibility secret */
        privateKey: string;
        /**
         * Passphrase of a `gpg` key.
         * @visibility secret
         */
        passphrase?: string;
        /** Entities whose automations may sign with this key. When absent, any entity may. */
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
       * The clusters automation may write to, with what it may write. A cluster from the
       * catalog is used only when listed here with a credential and its API server URL.
       */
      clusters?: Array<{
        /** The cluster's name (in `kubernetes.clusterLocatorMethods` or the catalog). */
        name: string;
        /** A `token` or `clientCertificate` entry of `imageAutomation.credentials`. */
        credential?: string;
        /** The API server URL the credential may be sent to. */
        url?: string;
        force?: boolean;
        /** Namespaces automation may write to; `*` for all. */
        allowedNamespaces?: string[];
        /** Kinds automation may write (`Kind` or `group/Kind`); `*` for all. */
        allowedKinds?: string[];
      }>;
    };
    /** The reconcile loop. */
    engine?: {
      /** How often a pass looks for due objects, in seconds. Default 5. */
      pollIntervalSeconds?: number;
      /** How many objects one pass takes at most. Default 20. */
      batchSize?: number;
      /** How long a lease on an object lasts, in seconds. Default 300. */
      leaseSeconds?: number;
      /** How often manifests are re-read from their sources, in seconds. Default 120. */
      refreshIntervalSeconds?: number;
    };
    /** Scan history retention. */
    retention?: {
      /** Scans older than this many days are deleted. Default 30. */
      scanDays?: number;
      /** At most this many scans are kept per repository. Default 500. */
      scansPerRepository?: number;
    };
  };
}
