import { ImageRef } from '@imageops/backstage-plugin-image-automation-common';

/**
 * Issue #18, Git automation: scenarios of commit templates, push branches and refspecs, each run
 * by our ImageUpdateAutomation reconciler and by the kyaml + text/template + sprig + go-git
 * harness (test/oracles/kyaml-setters, `automate` mode) against the test bed's Git server.
 */
export interface AutomationScenario {
  id: string;
  /** The files of the checkout branch `main`. */
  files: Record<string, string>;
  policies: Record<string, ImageRef>;
  commit?: {
    messageTemplate?: string;
    messageTemplateValues?: Record<string, string>;
    author?: { name: string; email: string };
  };
  push?: {
    branch?: string;
    refspec?: string;
    options?: Record<string, string>;
  };
  /** Branches that exist before the run: name to files committed on top of `main`. */
  branches?: Record<string, Record<string, string>>;
  /** A documented difference (docs/differences.md), asserted exactly. */
  difference?: {
    reason: string;
    /** The harness's and our outcome where they differ (fields of {@link Outcome}). */
    theirs: Partial<Outcome>;
    ours: Partial<Outcome>;
  };
}

/** What a run leaves: the commit message, its author, the refs and an error text. */
export interface Outcome {
  message?: string;
  author?: string;
  /** Every ref of the remote after the run: `before:<ref>` (unchanged), or the new commit's description. */
  refs: Record<string, string>;
  /** Files the new commit changed against its parent, with their contents. */
  diff?: Record<string, string>;
  error?: string;
  /** The push options the server received, per push. */
  pushOptions?: string[][];
}

const APP = { name: 'ghcr.io/acme/app', tag: '1.2.0' };
const WEB = { name: 'ghcr.io/acme/web', tag: '2.0.1' };

const deploy = (
  name: string,
  image: string,
  policy: string,
) => `apiVersion: apps/v1
kind: Deployment
metadata:
  name: ${name}
  namespace: apps
spec:
  template:
    spec:
      containers:
        - name: ${name}
          image: ${image} # {"$imagepolicy": "apps:${policy}"}
`;

const ONE = {
  'deploy/app.yaml': deploy('app', 'ghcr.io/acme/app:1.0.0', 'app'),
};
const TWO = {
  'deploy/app.yaml': deploy('app', 'ghcr.io/acme/app:1.0.0', 'app'),
  'deploy/web.yaml': deploy('web', 'ghcr.io/acme/web:2.0.0', 'web'),
};

const ONE_UPDATED = deploy('app', 'ghcr.io/acme/app:1.2.0', 'app');

export const SCENARIOS: AutomationScenario[] = [
  { id: 'default-message', files: ONE, policies: { app: APP } },
  {
    id: 'automation-object',
    files: ONE,
    policies: { app: APP },
    commit: { messageTemplate: 'Automation: {{ .AutomationObject }}\n' },
  },
  {
    id: 'changes-range',
    files: ONE,
    policies: { app: APP },
    commit: {
      messageTemplate:
        'Update images\n\n{{ range .Changed.Changes }}- {{ .OldValue }} -> {{ .NewValue }} ({{ .Setter }})\n{{ end }}',
    },
  },
  {
    id: 'file-changes-range',
    files: TWO,
    policies: { app: APP, web: WEB },
    commit: {
      messageTemplate:
        '{{ range $file, $objs := .Changed.FileChanges }}{{ $file }}:\n{{ range $obj, $cs := $objs }}  {{ $obj.Kind }} {{ $obj.Namespace }}/{{ $obj.Name }}\n{{ range $cs }}    {{ .NewValue }}\n{{ end }}{{ end }}{{ end }}',
    },
  },
  {
    id: 'objects-range',
    files: TWO,
    policies: { app: APP, web: WEB },
    commit: {
      messageTemplate:
        'Objects:\n{{ range $obj, $cs := .Changed.Objects }}- {{ $obj.APIVersion }} {{ $obj.Kind }} {{ $obj.Name }}: {{ len $cs }}\n{{ end }}',
    },
  },
  {
    id: 'sprig-upper-join-default',
    files: ONE,
    policies: { app: APP },
    commit: {
      messageTemplate:
        '{{ upper .AutomationObject.Name }} {{ default "none" .Values.missing }} [{{ .Values.missing }}] {{ list "a" "b" "c" | join "," }} {{ .Values.env | title }}',
      messageTemplateValues: { env: 'production' },
    },
  },
  {
    id: 'sprig-to-json-trim',
    files: ONE,
    policies: { app: APP },
    commit: {
      messageTemplate:
        '{{ toJson .Values }}\n{{ trimSuffix "-x" "tag-x" }} {{ "  pad  " | trim }} {{ repeat 3 "=" }}',
      messageTemplateValues: { b: '2', a: '1' },
    },
  },
  {
    id: 'values-range',
    files: ONE,
    policies: { app: APP },
    commit: {
      messageTemplate:
        '{{ range $k, $v := .Values }}{{ $k }}={{ $v }};{{ end }}',
      messageTemplateValues: { zeta: 'z', alpha: 'a', mid: 'm' },
    },
  },
  {
    id: 'trailing-whitespace-kept',
    files: ONE,
    policies: { app: APP },
    commit: { messageTemplate: 'Subject  \n\n\nBody line   \n\n\n' },
  },
  {
    id: 'template-parse-error',
    files: ONE,
    policies: { app: APP },
    commit: { messageTemplate: 'Update {{ .Changed.Changes ' },
  },
  {
    id: 'template-missing-function',
    files: ONE,
    policies: { app: APP },
    commit: { messageTemplate: 'Update {{ env "HOME" }}' },
  },
  {
    id: 'template-exec-error',
    files: ONE,
    policies: { app: APP },
    commit: { messageTemplate: 'Update {{ .Changed.Nope }}' },
  },
  {
    id: 'template-removed-updated',
    files: ONE,
    policies: { app: APP },
    commit: { messageTemplate: '{{ range .Updated.Images }}{{ . }}{{ end }}' },
  },
  {
    id: 'template-removed-image-result',
    files: ONE,
    policies: { app: APP },
    commit: { messageTemplate: '{{ .Changed.ImageResult }}' },
  },
  {
    id: 'author',
    files: ONE,
    policies: { app: APP },
    commit: {
      author: { name: 'Ünïcode Bot', email: 'robot+images@example.org' },
    },
  },
  {
    id: 'push-branch-new',
    files: ONE,
    policies: { app: APP },
    push: { branch: 'image-updates' },
  },
  {
    id: 'push-branch-existing',
    files: ONE,
    policies: { app: APP },
    push: { branch: 'image-updates' },
    branches: { 'image-updates': { 'README.md': 'earlier work\n' } },
  },
  {
    id: 'refspec-branch-to-branch',
    files: ONE,
    policies: { app: APP },
    push: { refspec: 'refs/heads/main:refs/heads/auto' },
  },
  {
    id: 'push-branch-and-refspec',
    files: ONE,
    policies: { app: APP },
    push: {
      branch: 'image-updates',
      refspec: 'refs/heads/image-updates:refs/heads/release',
    },
  },
  {
    id: 'refspec-head-to-review-ref',
    files: ONE,
    policies: { app: APP },
    push: { refspec: 'HEAD:refs/for/main' },
    difference: {
      reason: 'go-git pushes nothing for a `HEAD:` refspec',
      theirs: {
        refs: {
          'refs/heads/main': 'new commit, parent before:refs/heads/main',
        },
        pushOptions: [[]],
      },
      ours: {
        refs: {
          'refs/for/main': 'new commit, parent before:refs/heads/main',
          'refs/heads/main': 'new commit, parent before:refs/heads/main',
        },
        pushOptions: [[], []],
      },
    },
  },
  {
    id: 'refspec-malformed',
    files: ONE,
    policies: { app: APP },
    push: { refspec: 'refs/heads/main' },
    difference: {
      reason:
        'A refspec that does not parse is refused before anything is pushed',
      theirs: {
        message: 'Update from image update automation',
        author: 'Flux Bot <bot@example.com>',
        diff: { 'deploy/app.yaml': ONE_UPDATED },
        refs: {
          'refs/heads/main': 'new commit, parent before:refs/heads/main',
        },
        pushOptions: [[]],
        error:
          'failed to update source: malformed refspec, separators are wrong',
      },
      ours: {
        message: undefined,
        author: undefined,
        diff: undefined,
        refs: { 'refs/heads/main': 'before:refs/heads/main' },
        pushOptions: [],
        error:
          "failed configuring source manager: invalid push refspec 'refs/heads/main': it must be '<src>:<dst>'",
      },
    },
  },
  {
    id: 'push-options',
    files: ONE,
    policies: { app: APP },
    push: { options: { 'ci.skip': '' } },
    difference: {
      reason: 'A push option with an empty value is sent as `key`',
      theirs: { pushOptions: [['ci.skip=']] },
      ours: { pushOptions: [['ci.skip']] },
    },
  },
  {
    id: 'refspec-rejected-non-fast-forward',
    files: ONE,
    policies: { app: APP },
    push: { refspec: 'refs/heads/main:refs/heads/other' },
    branches: { other: { 'OTHER.md': 'diverged\n' } },
    difference: {
      reason: 'A rejected refspec push is retried from a fresh clone',
      theirs: {
        error:
          'failed to update source: non-fast-forward update: refs/heads/other',
      },
      ours: { error: undefined },
    },
  },
];
