import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { main } from './index';
import { CliIO } from './types';

function captureIO(
  files: Record<string, string>,
): CliIO & { out: () => string; err: () => string } {
  let stdout = '';
  let stderr = '';
  return {
    stdout: { write: t => void (stdout += t) },
    stderr: { write: t => void (stderr += t) },
    readFile: async f => {
      if (!(f in files))
        throw new Error(`ENOENT: no such file or directory, open '${f}'`);
      return files[f];
    },
    out: () => stdout,
    err: () => stderr,
  };
}

const RSET = `apiVersion: fluxcd.controlplane.io/v1
kind: ResourceSet
metadata:
  name: apps
spec:
  inputsFrom:
    - name: tenants
  resources:
    - apiVersion: v1
      kind: ConfigMap
      metadata:
        name: << inputs.tenant >>
        namespace: << inputs.provider.namespace >>
      data:
        id: << inputs.id | quote >>
`;

describe('image-automation build rset', () => {
  it('prints the objects like flux-operator build rset, with static providers', async () => {
    const io = captureIO({
      'rset.yaml': RSET,
      'providers.yaml': `apiVersion: fluxcd.controlplane.io/v1
kind: ResourceSetInputProvider
metadata:
  name: tenants
spec:
  type: Static
  defaultValues:
    tenant: team1
`,
    });
    const code = await main(
      [
        'build',
        'rset',
        '-f',
        'rset.yaml',
        '--inputs-from-provider',
        'providers.yaml',
        '-n',
        'apps',
      ],
      io,
    );
    expect(io.err()).toBe('');
    expect(code).toBe(0);
    expect(io.out()).toBe(`---
apiVersion: v1
data:
  id: "199230206"
kind: ConfigMap
metadata:
  labels:
    resourceset.fluxcd.controlplane.io/name: apps
    resourceset.fluxcd.controlplane.io/namespace: apps
  name: team1
  namespace: apps
`);
  });

  it('replaces spec.inputs with --inputs-from', async () => {
    const io = captureIO({
      'rset.yaml': RSET,
      'inputs.yaml': '- tenant: a\n  id: x\n- tenant: b\n  id: y\n',
    });
    expect(
      await main(['build', 'rset', '-f', 'rset.yaml', '-i', 'inputs.yaml'], io),
    ).toBe(0);
    expect(io.out().match(/^ {2}name: .*$/gm)).toEqual([
      '  name: a',
      '  name: b',
    ]);
  });

  it('fails like the Flux Operator CLI', async () => {
    const io = captureIO({ 'rset.yaml': RSET });
    expect(await main(['build', 'rset', '-f', 'rset.yaml'], io)).toBe(1);
    expect(io.err()).toBe(
      "✗ ResourceSet has '.spec.inputsFrom', please provide the inputs with --inputs-from or --inputs-from-provider\n",
    );
    const missing = captureIO({});
    expect(await main(['build', 'rset', '-f', 'nope.yaml'], missing)).toBe(1);
    expect(missing.err()).toBe(
      "✗ invalid filename 'nope.yaml', must point to an existing file\n",
    );
    const noFlag = captureIO({});
    expect(await main(['build', 'rset'], noFlag)).toBe(1);
    expect(noFlag.err()).toBe('✗ --filename is required\n');
  });
});

describe('image-automation template render', () => {
  const files = {
    'ok.tmpl':
      'name: << inputs.tenant | upper >>, replicas: << inputs.replicas >>, ratio: << inputs.ratio >>',
    'missing.tmpl': '<< inputs.missing >>',
    'bad.tmpl': '<< now >>',
    'msg.tmpl':
      '{{ .AutomationObject }}: {{ range .Changes }}{{ . }} {{ end }}',
    'inputs.json':
      '{"tenant": "team1", "replicas": 2, "ratio": 1.0, "AutomationObject": "ns/app", "Changes": ["a", "b"]}',
  };

  it('renders with << >> delimiters, keeping integer literals as integers', async () => {
    const io = captureIO(files);
    expect(
      await main(
        [
          'template',
          'render',
          '--template',
          'ok.tmpl',
          '--inputs',
          'inputs.json',
        ],
        io,
      ),
    ).toBe(0);
    expect(io.out()).toBe('name: TEAM1, replicas: 2, ratio: 1');
  });

  it('prints {"output"} or {"error","phase"} with --json and fails on errors', async () => {
    const ok = captureIO(files);
    await main(
      [
        'template',
        'render',
        '--template',
        'ok.tmpl',
        '--inputs',
        'inputs.json',
        '--json',
      ],
      ok,
    );
    expect(JSON.parse(ok.out())).toEqual({
      output: 'name: TEAM1, replicas: 2, ratio: 1',
    });

    const exec = captureIO(files);
    expect(
      await main(
        [
          'template',
          'render',
          '--template',
          'missing.tmpl',
          '--inputs',
          'inputs.json',
          '--json',
        ],
        exec,
      ),
    ).toBe(1);
    expect(JSON.parse(exec.out())).toEqual({
      error:
        'template: resourceset:1:3: executing "resourceset" at <inputs>: map has no entry for key "missing"',
      phase: 'execute',
    });

    const parse = captureIO(files);
    expect(
      await main(
        [
          'template',
          'render',
          '--template',
          'bad.tmpl',
          '--inputs',
          'inputs.json',
          '--json',
          '--name',
          'x',
        ],
        parse,
      ),
    ).toBe(1);
    expect(JSON.parse(parse.out())).toEqual({
      error: 'template: x:1: function "now" not defined',
      phase: 'parse',
    });
  });

  it('renders commit-message templates with {{ }} and the data as dot', async () => {
    const io = captureIO(files);
    const args = [
      'template',
      'render',
      '--template',
      'msg.tmpl',
      '--inputs',
      'inputs.json',
      '--delims',
      '{{,}}',
    ];
    expect(await main([...args, '--funcs', 'commitMessage'], io)).toBe(0);
    expect(io.out()).toBe('ns/app: a b ');
  });

  it('runs as the real bin', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ia-template-'));
    try {
      fs.writeFileSync(
        path.join(dir, 't.tmpl'),
        '<< inputs.a | add 1 >>-<< inputs.s | slugify >>',
      );
      fs.writeFileSync(
        path.join(dir, 'i.json'),
        '{"a": 41, "s": "Hello World"}',
      );
      const bin = path.resolve(__dirname, '../../bin/image-automation');
      const result = await new Promise<{ code: number | null; out: string }>(
        (resolve, reject) => {
          const child = spawn(
            process.execPath,
            [
              bin,
              'template',
              'render',
              '--template',
              't.tmpl',
              '--inputs',
              'i.json',
            ],
            {
              cwd: dir,
              stdio: ['ignore', 'pipe', 'inherit'],
            },
          );
          let out = '';
          child.stdout.on('data', d => (out += d));
          child.on('error', reject);
          child.on('close', code => resolve({ code, out }));
        },
      );
      expect(result).toEqual({ code: 0, out: '42-hello-world' });
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
