/**
 * Scenarios for the comparison of our setters with kyaml's (test/oracles/kyaml-setters, a harness
 * on the library image-automation-controller uses; the controller itself is not served by the Go
 * module proxy). Each scenario is a small manifests tree and the policies' selections; the test
 * runs it through both and compares the written files byte for byte and the change lists.
 * A scenario with `difference` differs on purpose; the difference is listed in
 * docs/differences.md ("Compared with kyaml's setters") and asserted exactly here.
 */

export interface PolicyRef {
  name: string;
  tag: string;
  digest?: string;
}

export interface SetterScenario {
  id: string;
  title: string;
  /** The automation's namespace (default `flux-system`). */
  namespace?: string;
  policies: Record<string, PolicyRef | undefined>;
  /** How many values kyaml changes (so that two runs that change nothing cannot pass unnoticed). */
  changes: number;
  /** Relative path -> content. */
  files: Record<string, string>;
  difference?: {
    /** What differs, as docs/differences.md says it. */
    reason: string;
    /** The exact content kyaml writes and the exact content we write, per differing file. */
    kyaml: Record<string, string>;
    ours: Record<string, string>;
    /** Changes kyaml makes and we do not (by setter and old value), when there are any. */
    onlyKyaml?: Array<{
      file: string;
      setter: string;
      oldValue: string;
      newValue: string;
    }>;
    /** The files we do not write though kyaml does. */
    notWritten?: string[];
  };
}

const DIGEST =
  'sha256:6745aaad46ea8b1a6c1b0cd6d2da2c4a5f5aae2d0e5a4e8c7b5b2a0c3d4e14be';
const OLD_DIGEST =
  'sha256:1111111111111111111111111111111111111111111111111111111111111111';

const app: PolicyRef = { name: 'ghcr.io/acme/app', tag: '1.2.3' };
const appDigest: PolicyRef = {
  name: 'ghcr.io/acme/app',
  tag: '1.2.3',
  digest: DIGEST,
};

const deployment = (
  image: string,
  marker = 'flux-system:app',
) => `apiVersion: apps/v1
kind: Deployment
metadata:
  name: app
  namespace: apps
spec:
  template:
    spec:
      containers:
      - name: app
        image: ${image} # {"$imagepolicy": "${marker}"}
`;

/** A Deployment written with four-space indentation, a blank line, flow style and extra spaces. */
const FORMATTED = (image: string) => `# Rendered by the chart
apiVersion: apps/v1
kind: Deployment
metadata:
    name: app

    labels: {app: web, tier: "front"}
spec:
    template:
        spec:
            containers:
                -   name: app
                    image: ${image} # {"$imagepolicy": "flux-system:app"}
                    command: ["/bin/app",   "--serve"]
`;

const CRLF = (image: string) =>
  `apiVersion: v1\r\nkind: ConfigMap\r\nmetadata:\r\n  name: images\r\ndata:\r\n  image: ${image} # {"$imagepolicy": "flux-system:app"}\r\n`;

const DIGESTED = (tag: string, digest: string) => `kind: Kustomization
images:
- name: app
  newTag: ${tag} # {"$imagepolicy": "flux-system:app:tag"}
  digest: ${digest} # {"$imagepolicy": "flux-system:app:digest"}
`;

/** Markers in flow collections; `marked` are the seven values kyaml changes, in order. */
const FLOW = (marked: string[]) => `a: [
  # {"$imagepolicy": "flux-system:app"}
  ${marked[0]},
  # {"$imagepolicy": "flux-system:app"}
  ${marked[1]},
  ${marked[2]} # {"$imagepolicy": "flux-system:app"}
  , x:4
  ]
b: [x:5,
  x:6, ${marked[3]}, # {"$imagepolicy": "flux-system:app"}
  ${marked[4]} ,   # {"$imagepolicy": "flux-system:app"}
  x:9]
c: {k1: x:10,
  k2: ${marked[5]}, # {"$imagepolicy": "flux-system:app"}
  # {"$imagepolicy": "flux-system:app"}
  k3: x:12
  }
d:
- [${marked[6]}, # {"$imagepolicy": "flux-system:app"}
  x:14]
e: [x:15, x:16] # {"$imagepolicy": "flux-system:app"}
`;

export const SCENARIOS: SetterScenario[] = [
  {
    id: 'full-form',
    changes: 1,
    title: 'the ns:name form writes name:tag into a container image',
    policies: { app },
    files: { 'deploy.yaml': deployment('ghcr.io/acme/app:1.0.0') },
  },
  {
    id: 'full-form-digest',
    changes: 1,
    title: 'the ns:name form writes name:tag@digest when a digest is reflected',
    policies: { app: appDigest },
    files: { 'deploy.yaml': deployment('ghcr.io/acme/app:1.0.0') },
  },
  {
    id: 'tag-name-digest-forms',
    changes: 3,
    title: 'the :tag, :name and :digest forms in Kustomization images entries',
    policies: { app: appDigest },
    files: {
      'kustomization.yaml': `apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
- deploy.yaml
images:
- name: app
  newName: registry.example/old # {"$imagepolicy": "flux-system:app:name"}
  newTag: 1.0.0 # {"$imagepolicy": "flux-system:app:tag"}
  digest: ${OLD_DIGEST} # {"$imagepolicy": "flux-system:app:digest"}
`,
    },
  },
  {
    id: 'kustomization-wide-sequences',
    changes: 2,
    title:
      'a kustomization.yml and an extensionless Kustomization with indented sequences',
    policies: { app },
    files: {
      'kustomization.yml': `kind: Kustomization
images:
  - name: app
    newName: ghcr.io/acme/app
    newTag: 1.0.0 # {"$imagepolicy": "flux-system:app:tag"}
`,
      'base/Kustomization': `images:
  - name: app
    newTag: 1.0.0 # {"$imagepolicy": "flux-system:app:tag"}
`,
    },
  },
  {
    id: 'helm-values',
    changes: 3,
    title:
      'Helm values files and a HelmRelease with repository and tag markers',
    policies: { app, worker: { name: 'ghcr.io/acme/worker', tag: 'v2.0.1' } },
    files: {
      'charts/app/values.yaml': `replicaCount: 1
image:
  repository: ghcr.io/acme/app # {"$imagepolicy": "flux-system:app:name"}
  tag: 1.0.0 # {"$imagepolicy": "flux-system:app:tag"}
  pullPolicy: IfNotPresent
worker:
  image: ghcr.io/acme/worker:v2.0.0 # {"$imagepolicy": "flux-system:worker"}
`,
      'release.yaml': `apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata:
  name: app
  namespace: apps
spec:
  values:
    image:
      repository: ghcr.io/acme/app # {"$imagepolicy": "flux-system:app:name"}
      tag: 1.0.0 # {"$imagepolicy": "flux-system:app:tag"}
`,
    },
  },
  {
    id: 'sequence-items',
    changes: 2,
    title:
      'markers on sequence items: a line comment, and a comment on the line above an item',
    policies: { app, worker: { name: 'ghcr.io/acme/worker', tag: 'v2.0.1' } },
    files: {
      'job.yaml': `apiVersion: batch/v1
kind: Job
metadata:
  name: migrate
spec:
  template:
    spec:
      containers:
      - name: migrate
        image: busybox
        args:
        - --image
        - ghcr.io/acme/app:1.0.0 # {"$imagepolicy": "flux-system:app"}
        # {"$imagepolicy": "flux-system:worker:tag"}
        - v2.0.0
        - --done
`,
    },
  },
  {
    id: 'head-comment-on-key-not-applied',
    changes: 0,
    title:
      'a marker on the line above a mapping key, or after a key whose value is on the next line, is not applied',
    policies: { app },
    files: {
      'deploy.yaml': `apiVersion: apps/v1
kind: Deployment
metadata:
  name: app
spec:
  template:
    spec:
      containers:
      - name: app
        # {"$imagepolicy": "flux-system:app"}
        image: ghcr.io/acme/app:1.0.0
      - name: side
        image: # {"$imagepolicy": "flux-system:app"}
          ghcr.io/acme/app:1.0.0
`,
    },
  },
  {
    id: 'line-comment-hides-head-comment',
    changes: 1,
    title:
      'a sequence item whose line comment is not a marker ignores the marker above it',
    policies: { app },
    files: {
      'list.yaml': `images:
# {"$imagepolicy": "flux-system:app"}
- ghcr.io/acme/app:1.0.0 # pinned by hand
# {"$imagepolicy": "flux-system:app"}
- ghcr.io/acme/app:1.0.1
`,
    },
  },
  {
    id: 'quoted-values',
    changes: 3,
    title: 'double- and single-quoted values keep their quotes',
    policies: { app },
    files: {
      'values.yaml': `image:
  repository: "ghcr.io/acme/old" # {"$imagepolicy": "flux-system:app:name"}
  tag: '1.0.0' # {"$imagepolicy": "flux-system:app:tag"}
full: "ghcr.io/acme/app:1.0.0" # {"$imagepolicy": "flux-system:app"}
`,
    },
  },
  {
    id: 'numeric-tags-quoted',
    changes: 5,
    title:
      'a plain tag that YAML 1.1 reads as a number or boolean is double-quoted',
    policies: {
      float: { name: 'ghcr.io/acme/float', tag: '1.10' },
      int: { name: 'ghcr.io/acme/int', tag: '20240101' },
      bool: { name: 'ghcr.io/acme/bool', tag: 'on' },
      semver: { name: 'ghcr.io/acme/semver', tag: '1.2.3' },
    },
    files: {
      'values.yaml': `float: 1.0.0 # {"$imagepolicy": "flux-system:float:tag"}
int: 1.0.0 # {"$imagepolicy": "flux-system:int:tag"}
bool: 1.0.0 # {"$imagepolicy": "flux-system:bool:tag"}
semver: "1.0" # {"$imagepolicy": "flux-system:semver:tag"}
plain: 1.0.0 # {"$imagepolicy": "flux-system:semver:tag"}
`,
    },
  },
  {
    id: 'multi-document',
    changes: 2,
    title:
      'a multi-document file: each change names the object of its document',
    policies: { app, worker: { name: 'ghcr.io/acme/worker', tag: 'v2.0.1' } },
    files: {
      'all.yaml': `apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
  namespace: apps
data:
  image: ghcr.io/acme/app:1.0.0 # {"$imagepolicy": "flux-system:app"}
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: worker
spec:
  template:
    spec:
      containers:
      - name: worker
        image: ghcr.io/acme/worker:v2.0.0 # {"$imagepolicy": "flux-system:worker"}
---
apiVersion: v1
kind: Service
metadata:
  name: untouched
`,
    },
  },
  {
    id: 'marker-comment-forms',
    changes: 3,
    title:
      'marker comments without a space, with several #, and with extra string keys',
    policies: { app },
    files: {
      'values.yaml': `a: ghcr.io/acme/app:0.1.0 #{"$imagepolicy":"flux-system:app"}
b: ghcr.io/acme/app:0.1.0 ## {"$imagepolicy": "flux-system:app"}
c: ghcr.io/acme/app:0.1.0 # {"note": "from CI", "$imagepolicy": "flux-system:app"}
`,
    },
  },
  {
    id: 'malformed-markers',
    changes: 1,
    title:
      'malformed markers and unknown setters are not applied, beside one that is',
    policies: { app },
    files: {
      'values.yaml': `notJson: ghcr.io/acme/app:0.1.0 # {"$imagepolicy": flux-system:app}
trailing: ghcr.io/acme/app:0.1.0 # {"$imagepolicy": "flux-system:app"} # bumped by CI
nonString: ghcr.io/acme/app:0.1.0 # {"$imagepolicy": "flux-system:app", "n": 1}
unknownField: ghcr.io/acme/app:0.1.0 # {"$imagepolicy": "flux-system:app:version"}
tooShort: ghcr.io/acme/app:0.1.0 # {"$imagepolicy": "flux-system"}
noDollar: ghcr.io/acme/app:0.1.0 # {"imagepolicy": "flux-system:app"}
good: ghcr.io/acme/app:0.1.0 # {"$imagepolicy": "flux-system:app"}
`,
    },
  },
  {
    id: 'unknown-policies',
    changes: 0,
    title:
      'markers naming another namespace, a missing policy or one without a selection change nothing',
    policies: { app, pending: undefined },
    files: {
      'deploy.yaml': deployment('ghcr.io/acme/app:1.0.0', 'other-ns:app'),
      'missing.yaml': deployment('ghcr.io/acme/app:1.0.0', 'flux-system:nope'),
      'pending.yaml': deployment(
        'ghcr.io/acme/app:1.0.0',
        'flux-system:pending',
      ),
    },
  },
  {
    id: 'non-scalar-markers',
    changes: 0,
    title: 'markers on a mapping, a flow sequence and a key are never applied',
    policies: { app },
    files: {
      'values.yaml': `image: # {"$imagepolicy": "flux-system:app"}
  repository: ghcr.io/acme/app
images: [ghcr.io/acme/app:1.0.0] # {"$imagepolicy": "flux-system:app"}
list: # {"$imagepolicy": "flux-system:app"}
- ghcr.io/acme/app:1.0.0
? ghcr.io/acme/app:1.0.0 # {"$imagepolicy": "flux-system:app"}
: value
`,
    },
  },
  {
    id: 'files-not-scanned-or-not-yaml',
    changes: 0,
    title: 'files that are not YAML manifests, or do not parse, are left alone',
    policies: { app },
    files: {
      'notes.txt':
        'image: ghcr.io/acme/app:1.0.0 # {"$imagepolicy": "flux-system:app"}\n',
      'config.json':
        '{"image": "ghcr.io/acme/app:1.0.0"} # {"$imagepolicy": "flux-system:app"}\n',
      'UPPER.YAML':
        'image: ghcr.io/acme/app:1.0.0 # {"$imagepolicy": "flux-system:app"}\n',
      'broken.yaml':
        'image: ghcr.io/acme/app:1.0.0 # {"$imagepolicy": "flux-system:app"}\n  bad: indentation: here\n',
      'unclosed.yml':
        'image: ghcr.io/acme/app:1.0.0 # {"$imagepolicy": "flux-system:app"}\nlist: [a, b\n',
      'no-marker.yaml':
        'image: ghcr.io/acme/app:1.0.0 # {$imagepolicy: flux-system:app}\n',
    },
  },
  {
    id: 'unchanged-tree',
    changes: 0,
    title:
      'markers already at the selected values: nothing is written, whatever the formatting',
    policies: { app },
    files: {
      'deploy.yaml': `apiVersion: apps/v1
kind: Deployment
metadata:
    name: app      # four-space indentation, kept because nothing is written
spec:
    template:
        spec:
            containers:
              - name: app
                image: ghcr.io/acme/app:1.2.3 # {"$imagepolicy": "flux-system:app"}
`,
      'values.yaml':
        'tag: "1.2.3"   # {"$imagepolicy": "flux-system:app:tag"}\r\n',
    },
  },
  {
    id: 'nested-and-hidden-directories',
    changes: 3,
    title:
      'files in nested and hidden directories are found and named relative to the update path',
    policies: { app },
    files: {
      '.github/deploy.yaml': deployment('ghcr.io/acme/app:1.0.0'),
      'apps/production/deploy.yaml': deployment('ghcr.io/acme/app:1.0.0'),
      'apps/staging/deploy.yml': deployment('ghcr.io/acme/app:1.0.0'),
    },
  },
  // Documented differences (docs/differences.md, "Compared with kyaml's setters").
  {
    id: 'reformatting',
    title:
      'kyaml re-serialises a changed file; we change only the marked value',
    changes: 1,
    policies: { app },
    files: { 'deploy.yaml': FORMATTED('ghcr.io/acme/app:1.0.0  ') },
    difference: {
      reason: 'Only the marked value is written',
      kyaml: {
        'deploy.yaml': `# Rendered by the chart
apiVersion: apps/v1
kind: Deployment
metadata:
  name: app
  labels: {app: web, tier: "front"}
spec:
  template:
    spec:
      containers:
      - name: app
        image: ghcr.io/acme/app:1.2.3 # {"$imagepolicy": "flux-system:app"}
        command: ["/bin/app", "--serve"]
`,
      },
      ours: { 'deploy.yaml': FORMATTED('ghcr.io/acme/app:1.2.3  ') },
    },
  },
  {
    id: 'template-text',
    title:
      'Go template text in a changed file: kyaml rewrites it as a flow mapping (image-automation-controller#566)',
    changes: 1,
    policies: { app },
    files: {
      'values.yaml':
        'name: {{ .Values.name }}\nimage: ghcr.io/acme/app:1.0.0 # {"$imagepolicy": "flux-system:app"}\n',
    },
    difference: {
      reason: 'Only the marked value is written',
      kyaml: {
        'values.yaml': `name: {? {.Values.name: ''} : ''}\nimage: ghcr.io/acme/app:1.2.3 # {"$imagepolicy": "flux-system:app"}\n`,
      },
      ours: {
        'values.yaml':
          'name: {{ .Values.name }}\nimage: ghcr.io/acme/app:1.2.3 # {"$imagepolicy": "flux-system:app"}\n',
      },
    },
  },
  {
    id: 'crlf-line-endings',
    title: 'a file with CRLF line endings: kyaml writes LF, we keep CRLF',
    changes: 1,
    policies: { app },
    files: { 'cm.yaml': CRLF('ghcr.io/acme/app:1.0.0') },
    difference: {
      reason: 'Only the marked value is written',
      kyaml: {
        'cm.yaml': CRLF('ghcr.io/acme/app:1.2.3').replace(/\r\n/g, '\n'),
      },
      ours: { 'cm.yaml': CRLF('ghcr.io/acme/app:1.2.3') },
    },
  },
  {
    id: 'dates-and-times',
    title:
      'date and time tags: kyaml leaves a date over a date and 12:30 plain, we quote them',
    changes: 3,
    policies: {
      daily: { name: 'ghcr.io/acme/daily', tag: '2024-06-27' },
      clock: { name: 'ghcr.io/acme/clock', tag: '12:30' },
    },
    files: {
      'values.yaml': `overDate: 2024-06-26 # {"$imagepolicy": "flux-system:daily:tag"}
overSemver: 1.0.0 # {"$imagepolicy": "flux-system:daily:tag"}
clock: 1.0.0 # {"$imagepolicy": "flux-system:clock:tag"}
`,
    },
    difference: {
      reason: 'Dates and times are quoted too',
      kyaml: {
        'values.yaml': `overDate: 2024-06-27 # {"$imagepolicy": "flux-system:daily:tag"}
overSemver: "2024-06-27" # {"$imagepolicy": "flux-system:daily:tag"}
clock: 12:30 # {"$imagepolicy": "flux-system:clock:tag"}
`,
      },
      ours: {
        'values.yaml': `overDate: "2024-06-27" # {"$imagepolicy": "flux-system:daily:tag"}
overSemver: "2024-06-27" # {"$imagepolicy": "flux-system:daily:tag"}
clock: "12:30" # {"$imagepolicy": "flux-system:clock:tag"}
`,
      },
    },
  },
  {
    id: 'digest-without-reflection',
    title:
      'a :digest marker whose policy reflects no digest: kyaml blanks the field, we keep it',
    changes: 2,
    policies: { app },
    files: { 'kustomization.yaml': DIGESTED('1.0.0', OLD_DIGEST) },
    difference: {
      reason: 'Problems are reported, not swallowed',
      kyaml: { 'kustomization.yaml': DIGESTED('1.2.3', '""') },
      ours: { 'kustomization.yaml': DIGESTED('1.2.3', OLD_DIGEST) },
      onlyKyaml: [
        {
          file: 'kustomization.yaml',
          setter: 'flux-system:app:digest',
          oldValue: OLD_DIGEST,
          newValue: '',
        },
      ],
    },
  },
  {
    id: 'flow-collections',
    title:
      'markers after items of flow collections that span lines are applied by both',
    changes: 2,
    policies: { app },
    files: {
      'values.yaml': `image: {
  repository: ghcr.io/acme/app, # {"$imagepolicy": "flux-system:app:name"}
  tag: 1.0.0 # {"$imagepolicy": "flux-system:app:tag"}
}
args: [
  --image,
  ghcr.io/acme/app:1.0.0, # {"$imagepolicy": "flux-system:app"}
]
`,
    },
    difference: {
      reason: 'Only the marked value is written',
      kyaml: {
        'values.yaml': `image: {repository: ghcr.io/acme/app, # {"$imagepolicy": "flux-system:app:name"}
  tag: 1.2.3, # {"$imagepolicy": "flux-system:app:tag"}
}
args: [--image, 'ghcr.io/acme/app:1.2.3', # {"$imagepolicy": "flux-system:app"}
]
`,
      },
      ours: {
        'values.yaml': `image: {
  repository: ghcr.io/acme/app, # {"$imagepolicy": "flux-system:app:name"}
  tag: 1.2.3 # {"$imagepolicy": "flux-system:app:tag"}
}
args: [
  --image,
  "ghcr.io/acme/app:1.2.3", # {"$imagepolicy": "flux-system:app"}
]
`,
      },
    },
  },
  {
    id: 'flow-collection-comments',
    title:
      'flow collections: line comments after an item or its comma, comments above an item, comments after the closing bracket',
    changes: 7,
    policies: { app: { name: 'y', tag: '2' } },
    files: {
      'values.yaml': FLOW([
        'x:1',
        'x:2',
        'x:3',
        'x:7',
        'x:8',
        '"x:11"',
        'x:13',
      ]),
    },
    difference: {
      reason: 'Only the marked value is written',
      kyaml: {
        'values.yaml': `a: [
  # {"$imagepolicy": "flux-system:app"}
  'y:2',
  # {"$imagepolicy": "flux-system:app"}
  'y:2', 'y:2', # {"$imagepolicy": "flux-system:app"}
  'x:4']
b: ['x:5', 'x:6', 'y:2', # {"$imagepolicy": "flux-system:app"}
  'y:2', # {"$imagepolicy": "flux-system:app"}
  'x:9']
c: {k1: 'x:10', k2: "y:2", # {"$imagepolicy": "flux-system:app"}
  # {"$imagepolicy": "flux-system:app"}
  k3: 'x:12'}
d:
- ['y:2', # {"$imagepolicy": "flux-system:app"}
  'x:14']
e: ['x:15', 'x:16'] # {"$imagepolicy": "flux-system:app"}
`,
      },
      ours: { 'values.yaml': FLOW(Array(7).fill('"y:2"')) },
    },
  },
];
