import {
  composeImagePolicyReadyMessage,
  digestFetchFailureMessage,
  DigestReflectionPolicy,
  imagePolicyRequeueAfter,
  ImageRef,
  planDigestReflection,
  updateImageRefs,
} from './imageRef';

describe('composeImagePolicyReadyMessage', () => {
  it.each([
    [
      { name: 'foo/bar', tag: '1.1.0' },
      undefined,
      'Latest image tag for foo/bar resolved to 1.1.0',
    ],
    [
      { name: 'foo/bar', tag: '1.1.0' },
      { name: 'foo/bar', tag: '1.0.0' },
      'Latest image tag for foo/bar resolved to 1.1.0 (previously foo/bar:1.0.0)',
    ],
    [
      { name: 'foo/bar', tag: '1.0.0', digest: 'sha256:1234567890abcdef' },
      { name: 'foo/bar', tag: '1.0.0', digest: 'sha256:abcdef1234567890' },
      'Latest image tag for foo/bar resolved to 1.0.0 with digest sha256:1234567890abcdef (previously foo/bar:1.0.0@sha256:abcdef1234567890)',
    ],
    [
      { name: 'foo/bar', tag: '1.0.0' },
      { name: 'foo/bar', tag: '1.0.0' },
      'Latest image tag for foo/bar resolved to 1.0.0',
    ],
  ])('%j after %j', (latest, previous, message) => {
    expect(composeImagePolicyReadyMessage(latest, previous)).toBe(message);
  });
});

/**
 * Flux's TestImagePolicyReconciler_digestReflection: tags v1.0.0 v1.1.0 v1.1.1 v2.0.0, range
 * v1.x, images re-pushed between two passes (so a fetch returns a new digest).
 */
describe('digest reflection across two reconciles', () => {
  const image = 'registry.example/app';
  let pushes = 0;
  const registry = () => `sha256:${String(++pushes).padStart(64, '0')}`;

  function reconcile(
    policy: DigestReflectionPolicy | undefined,
    tag: string,
    status: { latestRef?: ImageRef; observedPreviousRef?: ImageRef },
  ) {
    const plan = planDigestReflection({
      policy,
      image,
      tag,
      latestRef: status.latestRef,
    });
    if (plan.fetchDigest) plan.ref.digest = registry();
    const { latestRef, observedPreviousRef } = updateImageRefs({
      ref: plan.ref,
      ...status,
    });
    return { latestRef, observedPreviousRef, fetched: plan.fetchDigest };
  }

  function twoPasses(
    first: DigestReflectionPolicy | undefined,
    second: DigestReflectionPolicy | undefined,
    tags: [string, string] = ['v1.1.1', 'v1.1.1'],
  ) {
    const pass1 = reconcile(first, tags[0], {});
    const pass2 = reconcile(second, tags[1], pass1);
    return { pass1, pass2 };
  }

  it('Never: no digest on either pass, no previous ref', () => {
    const { pass1, pass2 } = twoPasses(undefined, 'Never');
    expect(pass1.latestRef.digest).toBeUndefined();
    expect(pass2.latestRef).toEqual({ name: image, tag: 'v1.1.1' });
    expect(pass2.observedPreviousRef).toBeUndefined();
  });

  it('Always → Always: digest refreshed, previous = pass-1 ref', () => {
    const { pass1, pass2 } = twoPasses('Always', 'Always');
    expect(pass2.fetched).toBe(true);
    expect(pass2.latestRef.digest).not.toBe(pass1.latestRef.digest);
    expect(pass2.observedPreviousRef).toEqual(pass1.latestRef);
  });

  it('IfNotPresent with a range change to v2.x: new digest, previous = v1.1.1 ref', () => {
    const { pass1, pass2 } = twoPasses('IfNotPresent', 'IfNotPresent', [
      'v1.1.1',
      'v2.0.0',
    ]);
    expect(pass2.fetched).toBe(true);
    expect(pass2.latestRef.tag).toBe('v2.0.0');
    expect(pass2.latestRef.digest).toMatch(/^sha256:/);
    expect(pass2.observedPreviousRef).toEqual(pass1.latestRef);
  });

  it('IfNotPresent → IfNotPresent, same tag: digest kept, no previous ref', () => {
    const { pass1, pass2 } = twoPasses('IfNotPresent', 'IfNotPresent');
    expect(pass2.fetched).toBe(false);
    expect(pass2.latestRef).toEqual(pass1.latestRef);
    expect(pass2.observedPreviousRef).toBeUndefined();
  });

  it('Never → IfNotPresent: digest set, previous = the ref without digest', () => {
    const { pass2 } = twoPasses('Never', 'IfNotPresent');
    expect(pass2.latestRef.digest).toMatch(/^sha256:/);
    expect(pass2.observedPreviousRef).toEqual({ name: image, tag: 'v1.1.1' });
  });

  it.each(['Always', 'IfNotPresent'] as const)(
    '%s → Never: digest removed, previous has it',
    first => {
      const { pass1, pass2 } = twoPasses(first, 'Never');
      expect(pass2.latestRef).toEqual({ name: image, tag: 'v1.1.1' });
      expect(pass2.observedPreviousRef).toEqual(pass1.latestRef);
    },
  );

  it('IfNotPresent → Always: new digest', () => {
    const { pass1, pass2 } = twoPasses('IfNotPresent', 'Always');
    expect(pass2.latestRef.digest).not.toBe(pass1.latestRef.digest);
    expect(pass2.observedPreviousRef).toEqual(pass1.latestRef);
  });

  it('Always → IfNotPresent: unchanged, no previous ref', () => {
    const { pass1, pass2 } = twoPasses('Always', 'IfNotPresent');
    expect(pass2.fetched).toBe(false);
    expect(pass2.latestRef).toEqual(pass1.latestRef);
    expect(pass2.observedPreviousRef).toBeUndefined();
  });

  it('keeps an older observedPreviousRef when nothing changed', () => {
    const older = { name: image, tag: 'v1.0.0' };
    const latest = { name: image, tag: 'v1.1.1' };
    expect(
      updateImageRefs({
        ref: { ...latest },
        latestRef: latest,
        observedPreviousRef: older,
      }),
    ).toEqual({
      latestRef: latest,
      observedPreviousRef: older,
      changed: false,
    });
  });

  it('uses spec.image verbatim as the name and HEADs <image>:<tag>', () => {
    const plan = planDigestReflection({
      policy: 'Always',
      image: 'nginx',
      tag: '1.27',
    });
    expect(plan.ref.name).toBe('nginx');
    expect(plan.reference).toBe('nginx:1.27');
  });
});

describe('digest failures and requeue', () => {
  it('words a failed HEAD like Flux', () => {
    expect(
      digestFetchFailureMessage(
        { name: 'foo/bar', tag: '1.0.0' },
        'GET …: 401 Unauthorized',
      ),
    ).toBe(
      'failed fetching digest of foo/bar:1.0.0: failed fetching descriptor for "foo/bar:1.0.0": GET …: 401 Unauthorized',
    );
  });

  it('requeues only Always, every interval (10m by default)', () => {
    expect(imagePolicyRequeueAfter('Always', 60_000)).toBe(60_000);
    expect(imagePolicyRequeueAfter('Always')).toBe(600_000);
    expect(imagePolicyRequeueAfter('IfNotPresent', 60_000)).toBeUndefined();
    expect(imagePolicyRequeueAfter(undefined)).toBeUndefined();
  });
});
