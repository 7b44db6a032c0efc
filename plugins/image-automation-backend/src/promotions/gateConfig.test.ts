import { PROMOTION_ANNOTATIONS as A } from '@imageops/backstage-plugin-image-automation-common';
import { hasGates, problemGate, readGateConfig } from './gateConfig';

const P = 'promotion.image-automation.io/';
const KNOWN =
  'known: approvals, soak, window, window-duration, window-time-zone, after, after-target, after-soak';

describe('readGateConfig', () => {
  it('reads no gates from no annotations, and ignores other annotations', () => {
    expect(readGateConfig(undefined, undefined)).toEqual({
      config: {},
      problems: [],
    });
    const read = readGateConfig(
      {
        'image-automation.io/manifests': 'x.yaml',
        'promotion.example.com/approvals': 'x',
      },
      {},
    );
    expect(read).toEqual({ config: {}, problems: [] });
    expect(hasGates(read.config)).toBe(false);
  });

  it('reads every gate', () => {
    const { config, problems } = readGateConfig(
      {
        [A.approvals]: '2',
        [A.soak]: '24h',
        [A.window]: '0 9 * * 1-5',
        [A.windowDuration]: '8h',
        [A.windowTimeZone]: 'Europe/Berlin',
        [A.after]: 'Component:Default/Payments-API',
        [A.afterTarget]: 'prod-eu',
        [A.afterSoak]: '2h30m',
      },
      undefined,
    );
    expect(problems).toEqual([]);
    expect(config).toEqual({
      approvals: 2,
      soakMs: 86_400_000,
      window: {
        cron: '0 9 * * 1-5',
        durationMs: 8 * 3_600_000,
        timeZone: 'Europe/Berlin',
      },
      after: {
        entityRef: 'component:default/payments-api',
        target: 'prod-eu',
        soakMs: 9_000_000,
      },
    });
    expect(hasGates(config)).toBe(true);
  });

  it.each([
    [{ [A.approvals]: '1' }, { approvals: 1 }],
    [{ [A.approvals]: '100' }, { approvals: 100 }],
    [{ [A.soak]: '30m' }, { soakMs: 1_800_000 }],
    [{ [A.soak]: '0s' }, { soakMs: 0 }],
    [
      { [A.window]: '@daily', [A.windowDuration]: '1h' },
      { window: { cron: '@daily', durationMs: 3_600_000, timeZone: 'UTC' } },
    ],
    [
      { [A.after]: 'system:ops/staging' },
      { after: { entityRef: 'system:ops/staging', soakMs: 0 } },
    ],
  ])('reads a gate alone: %j', (annotations, config) => {
    const read = readGateConfig(annotations, undefined);
    expect(read).toEqual({ config, problems: [] });
    expect(hasGates(read.config)).toBe(true);
  });

  it('lets object annotations win over entity annotations, key by key', () => {
    expect(
      readGateConfig(
        { [A.approvals]: '1', [A.windowTimeZone]: 'Europe/Berlin' },
        {
          [A.approvals]: '3',
          [A.soak]: '24h',
          [A.window]: '0 9 * * *',
          [A.windowDuration]: '2h',
          [A.windowTimeZone]: 'America/New_York',
        },
      ),
    ).toEqual({
      config: {
        approvals: 1,
        soakMs: 86_400_000,
        window: {
          cron: '0 9 * * *',
          durationMs: 7_200_000,
          timeZone: 'Europe/Berlin',
        },
      },
      problems: [],
    });
  });

  it('takes the object value even where the entity value is malformed, and the reverse', () => {
    expect(
      readGateConfig({ [A.approvals]: '2' }, { [A.approvals]: 'two' }),
    ).toEqual({ config: { approvals: 2 }, problems: [] });
    expect(
      readGateConfig({ [A.approvals]: 'two' }, { [A.approvals]: '2' }).problems,
    ).toHaveLength(1);
  });

  it('reads gates from the entity alone', () => {
    expect(readGateConfig(undefined, { [A.soak]: '1h' })).toEqual({
      config: { soakMs: 3_600_000 },
      problems: [],
    });
  });

  it('trims values', () => {
    expect(
      readGateConfig(
        { [A.approvals]: ' 2\n', [A.after]: ' component:default/api ' },
        {},
      ).config,
    ).toEqual({
      approvals: 2,
      after: { entityRef: 'component:default/api', soakMs: 0 },
    });
  });

  describe('malformed annotations', () => {
    it.each([
      [
        { [A.approvals]: '0' },
        A.approvals,
        `${A.approvals}: '0' is not a positive integer`,
      ],
      [
        { [A.approvals]: 'two' },
        A.approvals,
        `${A.approvals}: 'two' is not a positive integer`,
      ],
      [
        { [A.approvals]: '-1' },
        A.approvals,
        `${A.approvals}: '-1' is not a positive integer`,
      ],
      [
        { [A.approvals]: '1.5' },
        A.approvals,
        `${A.approvals}: '1.5' is not a positive integer`,
      ],
      [
        { [A.approvals]: '' },
        A.approvals,
        `${A.approvals}: '' is not a positive integer`,
      ],
      [
        { [A.approvals]: '101' },
        A.approvals,
        `${A.approvals}: '101' is more than 100 approvals`,
      ],
      [
        { [A.soak]: '3d' },
        A.soak,
        `${A.soak}: '3d' is not a Go duration such as 72h or 30m (time: unknown unit "d" in duration "3d")`,
      ],
      [{ [A.soak]: '-1h' }, A.soak, `${A.soak}: '-1h' is negative`],
    ])('%j', (annotations, field, message) => {
      const { config, problems } = readGateConfig(annotations, undefined);
      expect(problems).toEqual([{ field, message }]);
      expect(config).toEqual({});
      expect(hasGates(config)).toBe(false);
    });

    it.each([
      [
        { [A.window]: '0 9 * * *', [A.windowDuration]: 'soon' },
        [
          {
            field: A.windowDuration,
            message: `${A.windowDuration}: 'soon' is not a Go duration such as 72h or 30m (time: invalid duration "soon")`,
          },
        ],
      ],
      [
        { [A.window]: '0 9 * * *', [A.windowDuration]: '0s' },
        [
          {
            field: A.windowDuration,
            message: `${A.windowDuration}: '0s' must be longer than 0s`,
          },
        ],
      ],
      [
        { [A.window]: '0 9 * * *', [A.windowDuration]: '-2h' },
        [
          {
            field: A.windowDuration,
            message: `${A.windowDuration}: '-2h' is negative`,
          },
        ],
      ],
      [
        { [A.window]: '0 25 * * *', [A.windowDuration]: '1h' },
        [
          {
            field: A.window,
            message: `${A.window}: '0 25 * * *' is not a cron spec: failed to parse cron spec '0 25 * * *' with timezone 'UTC': end of range (25) above maximum (23): 25`,
          },
        ],
      ],
      [
        { [A.window]: 'weekdays at nine', [A.windowDuration]: '1h' },
        [
          {
            field: A.window,
            message: `${A.window}: 'weekdays at nine' is not a cron spec: failed to parse cron spec 'weekdays at nine' with timezone 'UTC': expected exactly 5 fields, found 3: [weekdays at nine]`,
          },
        ],
      ],
      [
        {
          [A.window]: '0 9 * * *',
          [A.windowDuration]: '1h',
          [A.windowTimeZone]: 'Mars/Olympus',
        },
        [
          {
            field: A.windowTimeZone,
            message: `${A.windowTimeZone}: 'Mars/Olympus' is not an IANA time zone such as Europe/Berlin`,
          },
        ],
      ],
      [
        {
          [A.window]: '0 9 * * 8',
          [A.windowDuration]: '1h',
          [A.windowTimeZone]: 'CEST',
        },
        [
          {
            field: A.windowTimeZone,
            message: `${A.windowTimeZone}: 'CEST' is not an IANA time zone such as Europe/Berlin`,
          },
          {
            field: A.window,
            message: `${A.window}: '0 9 * * 8' is not a cron spec: failed to parse cron spec '0 9 * * 8' with timezone 'UTC': end of range (8) above maximum (6): 8`,
          },
        ],
      ],
      [
        { [A.window]: '0 9 * * 1-5' },
        [
          {
            field: A.window,
            message: `${A.window}: '0 9 * * 1-5' needs ${A.windowDuration} (how long each window stays open)`,
          },
        ],
      ],
      [
        { [A.windowDuration]: '8h' },
        [
          {
            field: A.windowDuration,
            message: `${A.windowDuration}: '8h' needs ${A.window}`,
          },
        ],
      ],
      [
        { [A.windowTimeZone]: 'Europe/Berlin' },
        [
          {
            field: A.windowTimeZone,
            message: `${A.windowTimeZone}: 'Europe/Berlin' has no effect without ${A.window}`,
          },
        ],
      ],
    ])('window: %j', (annotations, problems) => {
      const read = readGateConfig(annotations, undefined);
      expect(read.problems).toEqual(problems);
      expect(read.config.window).toBeUndefined();
    });

    it.each([
      ['api', 'had missing or empty kind'],
      ['component:api', 'kind, namespace and name are all required'],
      ['default/api', 'had missing or empty kind'],
      ['component:default/api/v2', 'kind, namespace and name are all required'],
      ['component:/api', 'was not on the form'],
      ['', 'must not be empty'],
    ])('after: %j', (value, cause) => {
      const read = readGateConfig(
        { [A.after]: value, [A.afterSoak]: '1h' },
        undefined,
      );
      expect(read.config).toEqual({});
      expect(read.problems).toEqual([
        {
          field: A.after,
          message: expect.stringContaining(
            `${A.after}: '${value}' is not an entity ref of the form kind:namespace/name (`,
          ),
        },
      ]);
      expect(read.problems[0].message).toContain(cause);
    });

    it.each([
      [
        { [A.afterSoak]: '1h' },
        [
          {
            field: A.afterSoak,
            message: `${A.afterSoak}: '1h' needs ${A.after}`,
          },
        ],
      ],
      [
        { [A.afterTarget]: 'prod' },
        [
          {
            field: A.afterTarget,
            message: `${A.afterTarget}: 'prod' needs ${A.after}`,
          },
        ],
      ],
      [
        { [A.after]: 'component:default/api', [A.afterSoak]: 'a day' },
        [
          {
            field: A.afterSoak,
            message: `${A.afterSoak}: 'a day' is not a Go duration such as 72h or 30m (time: invalid duration "a day")`,
          },
        ],
      ],
      [
        { [A.after]: 'component:default/api', [A.afterTarget]: ' ' },
        [{ field: A.afterTarget, message: `${A.afterTarget}: '' is empty` }],
      ],
    ])('upstream: %j', (annotations, problems) => {
      const read = readGateConfig(annotations, undefined);
      expect(read.problems).toEqual(problems);
      expect(read.config.after).toBeUndefined();
    });

    it('reports an unknown annotation, suggesting the one it misspells', () => {
      const read = readGateConfig(
        { [`${P}aprovals`]: '2', [`${P}freeze`]: 'true' },
        { [`${P}window-timezone`]: 'Europe/Berlin' },
      );
      expect(read.config).toEqual({});
      expect(read.problems).toEqual([
        {
          field: `${P}aprovals`,
          message: `unknown promotion gate annotation '${P}aprovals'; ${KNOWN}; did you mean 'approvals'?`,
        },
        {
          field: `${P}freeze`,
          message: `unknown promotion gate annotation '${P}freeze'; ${KNOWN}`,
        },
        {
          field: `${P}window-timezone`,
          message: `unknown promotion gate annotation '${P}window-timezone'; ${KNOWN}; did you mean 'window-time-zone'?`,
        },
      ]);
    });

    it('keeps the valid gates next to a broken one', () => {
      expect(
        readGateConfig({ [A.approvals]: '2', [A.soak]: '1 day' }, undefined),
      ).toEqual({
        config: { approvals: 2 },
        problems: [
          { field: A.soak, message: expect.stringContaining("'1 day'") },
        ],
      });
    });

    it('names the annotation and the value in every problem', () => {
      const read = readGateConfig(
        {
          [A.approvals]: 'many',
          [A.soak]: '1w',
          [A.window]: '* * *',
          [A.windowTimeZone]: 'Nowhere/City',
          [A.after]: 'api',
          [A.afterTarget]: 'prod-eu',
          [A.afterSoak]: '-5m',
        },
        undefined,
      );
      expect(read.config).toEqual({});
      expect(read.problems.map(p => p.field)).toEqual([
        A.approvals,
        A.soak,
        A.windowTimeZone,
        A.window,
        A.window,
        A.after,
        A.afterSoak,
      ]);
      const values: Record<string, string> = {
        [A.approvals]: 'many',
        [A.soak]: '1w',
        [A.window]: '* * *',
        [A.windowTimeZone]: 'Nowhere/City',
        [A.after]: 'api',
        [A.afterSoak]: '-5m',
      };
      for (const problem of read.problems) {
        expect(problem.message).toContain(problem.field);
        expect(problem.message).toContain(`'${values[problem.field]}'`);
      }
    });
  });
});

describe('problemGate', () => {
  it.each([
    [A.approvals, 'approval'],
    [A.soak, 'soak'],
    [A.window, 'window'],
    [A.windowDuration, 'window'],
    [A.windowTimeZone, 'window'],
    [A.after, 'upstream'],
    [A.afterTarget, 'upstream'],
    [A.afterSoak, 'upstream'],
    [`${P}aprovals`, 'approval'],
    [`${P}soaks`, 'soak'],
    [`${P}window-tz`, 'window'],
    [`${P}after-cluster`, 'upstream'],
    [`${P}freeze`, 'approval'],
  ])('puts a problem with %s under %s', (field, gate) => {
    expect(problemGate({ field, message: '' })).toBe(gate);
  });
});
