import { screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { renderInTestApp } from '@backstage/frontend-test-utils';
import { TimelineEvent } from '@imageops/backstage-plugin-image-automation-common';
import { fixClock } from '../../testing/fixClock';
import { imageAutomationApiRef } from '../../api/ImageAutomationApi';
import { LiveUpdatesContext } from '../../hooks/useLiveUpdates';
import { FakeImageAutomationApi } from '../../testing/FakeImageAutomationApi';
import { TimelineSection } from './TimelineSection';

const entity = { kind: 'Component', namespace: 'default', name: 'shop' };
const entityRef = 'component:default/shop';
const NOW = new Date('2030-01-04T12:00:00Z'); // a Friday
const DAY = 86_400_000;
const STAGING = 'git:ImageUpdateAutomation/apps/staging';
const PROD = 'cluster:ResourceSet/apps/web@prod';
const lanes = [
  { id: 'registry', label: 'registry' },
  { id: STAGING, label: 'git: clusters/staging (staging)' },
  { id: PROD, label: 'cluster prod (web)' },
];

let nextId = 0;
function event(
  time: string,
  kind: TimelineEvent['kind'],
  tag: string,
  targetId?: string,
  extra: Partial<TimelineEvent> = {},
): TimelineEvent {
  nextId++;
  return {
    id: `e${String(nextId).padStart(3, '0')}`,
    time,
    kind,
    tag,
    objectId: targetId ? 'ImagePolicy/apps/web' : 'ImageRepository/apps/web',
    actor: 'image-automation',
    message: `${tag} ${kind}${targetId ? ` on ${targetId}` : ''}`,
    ...(targetId ? { targetId } : {}),
    ...extra,
  };
}

/** 1.4.0 and 1.5.0 seen, carried to staging and prod within the week; older history before it. */
const history: TimelineEvent[] = [
  event('2029-12-01T08:00:00Z', 'tag-seen', '1.3.0'),
  event('2029-12-02T08:00:00Z', 'applied', '1.3.0', PROD),
  event('2029-12-30T08:00:00Z', 'tag-seen', '1.4.0'),
  event('2029-12-30T09:00:00Z', 'applied', '1.4.0', STAGING),
  event('2030-01-01T10:02:00Z', 'tag-seen', '1.5.0'),
  event('2030-01-01T10:10:00Z', 'requested', '1.5.0', STAGING, {
    fromTag: '1.4.0',
  }),
  event('2030-01-01T10:15:00Z', 'applied', '1.5.0', STAGING, {
    fromTag: '1.4.0',
  }),
  event('2030-01-02T09:00:00Z', 'requested', '1.5.0', PROD, {
    fromTag: '1.3.0',
  }),
  event('2030-01-03T08:30:00Z', 'approved', '1.5.0', PROD, {
    actor: 'user:default/jane',
  }),
  event('2030-01-03T09:00:00Z', 'applied', '1.5.0', PROD, { fromTag: '1.3.0' }),
  event('2030-01-04T10:00:00Z', 'rejected', '1.6.0', PROD, {
    actor: 'user:default/jane',
    message: '1.6.0 rejected for cluster prod (web): breaks checkout',
  }),
  event('2030-01-04T11:00:00Z', 'pinned', '1.5.0', PROD, {
    actor: 'user:default/jane',
  }),
];

function backend(
  items: TimelineEvent[] = history,
  extra: { lastScanAt?: string; nextScanAt?: string } = {
    lastScanAt: '2030-01-04T11:55:00Z',
  },
) {
  const api = new FakeImageAutomationApi({
    user: 'user:default/guest',
    now: () => NOW,
  });
  api.setTimeline(entityRef, { lanes, items, ...extra });
  return api;
}

function renderSection(
  api: FakeImageAutomationApi,
  options: { pageSize?: number; pollIntervalMs?: number } = {},
) {
  renderInTestApp(
    <LiveUpdatesContext.Provider
      value={{
        live: false,
        pollIntervalMs: options.pollIntervalMs ?? 60_000,
        version: 0,
      }}
    >
      <TimelineSection entityRef={entity} pageSize={options.pageSize} />
    </LiveUpdatesContext.Provider>,
    { apis: [[imageAutomationApiRef, api]] },
  );
  return screen.findByRole('region', { name: 'Timeline' });
}

function timelineCalls(api: FakeImageAutomationApi) {
  return api.calls
    .filter(c => c.method === 'getTimeline')
    .map(c => c.args[1] as { since?: string; limit?: number; cursor?: string });
}

/** The table's body rows, as the text of their cells. */
function rows(table: HTMLElement): string[][] {
  return within(table)
    .getAllByRole('row')
    .slice(1)
    .map(row =>
      [...row.querySelectorAll('td, th[scope="row"]')].map(
        cell => cell.textContent ?? '',
      ),
    );
}

describe('TimelineSection', () => {
  fixClock(NOW);

  it('draws one lane per target with the week’s events, and lists them in the table twin', async () => {
    const api = backend();
    const region = await renderSection(api);
    expect(
      within(region).getByRole('heading', { level: 2, name: 'Timeline' }),
    ).toBeInTheDocument();

    const chart = await within(region).findByRole('img', {
      name: /^Timeline, last week: 3 lanes/,
    });
    expect(chart).toHaveAccessibleName(
      'Timeline, last week: 3 lanes (registry, git: clusters/staging (staging), cluster prod (web)); 10 events — 1 pinned, 1 rejected, 3 applied, 1 approved, 2 requested, 2 tag seen. The table below lists every event.',
    );
    // Lanes as rows, tags seen as labelled ticks, bars titled with how long each tag ran.
    const visibleText = (text: string) =>
      within(chart)
        .getAllByText(text)
        .filter(e => e.tagName === 'text');
    expect(visibleText('cluster prod (web)')).toHaveLength(1);
    // 1.4.0: its tick on the registry lane and its bar on staging.
    expect(visibleText('1.4.0')).toHaveLength(2);
    expect(chart.querySelectorAll('rect')).toHaveLength(4);
    const titles = [...chart.querySelectorAll('title')].map(t => t.textContent);
    expect(titles).toContain(
      '1.3.0 ran on cluster prod (web) (ImagePolicy/apps/web) from 2029-12-28 12:00:00 UTC to 2030-01-03 09:00:00 UTC (5 d 21 h)',
    );
    expect(titles).toContain(
      '1.5.0 ran on cluster prod (web) (ImagePolicy/apps/web) from 2030-01-03 09:00:00 UTC until now (1 d 3 h)',
    );
    expect(titles).toContain(
      'Rejected: 1.6.0 rejected for cluster prod (web): breaks checkout — 2030-01-04 10:00:00 UTC by user:default/jane',
    );

    const table = within(region).getByRole('table', {
      name: 'Timeline events',
    });
    expect(
      within(table)
        .getAllByRole('columnheader')
        .map(h => h.textContent),
    ).toEqual(['Time', 'Lane', 'Event', 'Tag', 'Actor']);
    const body = rows(table);
    expect(body).toHaveLength(10);
    expect(body[0]).toEqual([
      '2030-01-04 11:00:00 UTC',
      'cluster prod (web)',
      `Pinned1.5.0 pinned on ${PROD}`,
      '1.5.0',
      'user:default/jane',
    ]);
    expect(body[1]).toEqual([
      '2030-01-04 10:00:00 UTC',
      'cluster prod (web)',
      'Rejected1.6.0 rejected for cluster prod (web): breaks checkout',
      '1.6.0',
      'user:default/jane',
    ]);
    expect(body[9]).toEqual([
      '2029-12-30 08:00:00 UTC',
      'registry',
      'Tag seen1.4.0 tag-seen',
      '1.4.0',
      'image-automation',
    ]);
    expect(body[4][3]).toBe('1.3.0 → 1.5.0');
    expect(timelineCalls(api)).toEqual([
      { since: new Date(NOW.getTime() - 7 * DAY).toISOString(), limit: 200 },
    ]);
  });

  it('computes each version’s lead time from first seen to the last target', async () => {
    const region = await renderSection(backend());
    const list = await within(region).findByRole('list', {
      name: 'Lead time per version',
    });
    expect(
      within(list)
        .getAllByRole('listitem')
        .map(i => i.textContent),
    ).toEqual([
      '1.5.0 seen Tue 10:02 → git: clusters/staging (staging) 10:15 → cluster prod (web) Thu 09:00 · lead time 1 d 23 h',
      '1.4.0 seen Sun 08:00 → git: clusters/staging (staging) 09:00 · lead time 1 h',
    ]);
  });

  it('loads the range chosen, again with its since', async () => {
    const api = backend();
    const region = await renderSection(api);
    await within(region).findByRole('table', { name: 'Timeline events' });
    const user = userEvent.setup();

    await user.click(within(region).getByRole('radio', { name: 'Last day' }));
    await waitFor(() =>
      expect(
        rows(within(region).getByRole('table', { name: 'Timeline events' })),
      ).toHaveLength(2),
    );
    expect(
      within(region).getByRole('radio', { name: 'Last day' }),
    ).toBeChecked();
    expect(
      within(region).getByText('No version reached a target in this range.'),
    ).toBeInTheDocument();

    await user.click(within(region).getByRole('radio', { name: 'All time' }));
    await waitFor(() =>
      expect(
        rows(within(region).getByRole('table', { name: 'Timeline events' })),
      ).toHaveLength(12),
    );
    expect(timelineCalls(api)).toEqual([
      { since: new Date(NOW.getTime() - 7 * DAY).toISOString(), limit: 200 },
      { since: new Date(NOW.getTime() - DAY).toISOString(), limit: 200 },
      { limit: 200 },
    ]);
  });

  it('pages through older events with the cursor, keeping what is shown', async () => {
    const api = backend();
    const region = await renderSection(api, { pageSize: 4 });
    const table = await within(region).findByRole('table', {
      name: 'Timeline events',
    });
    expect(rows(table)).toHaveLength(4);
    expect(
      within(region).getByText('4 events shown; older ones remain'),
    ).toBeInTheDocument();
    const user = userEvent.setup();

    await user.click(
      within(region).getByRole('button', { name: 'Load more events' }),
    );
    await waitFor(() => expect(rows(table)).toHaveLength(8));
    await user.click(
      within(region).getByRole('button', { name: 'Load more events' }),
    );
    await waitFor(() => expect(rows(table)).toHaveLength(10));
    expect(
      within(region).queryByRole('button', { name: 'Load more events' }),
    ).not.toBeInTheDocument();
    expect(within(region).getByText('10 events shown')).toBeInTheDocument();
    expect(rows(table).map(r => r[0])).toEqual(
      [...rows(table).map(r => r[0])].sort().reverse(),
    );
    expect(timelineCalls(api).map(c => c.cursor)).toEqual([
      undefined,
      '4',
      '8',
    ]);
    expect(new Set(timelineCalls(api).map(c => c.since)).size).toBe(1);
  });

  it('shows 25 rows of the table twin at first, then more from what is loaded, then older pages', async () => {
    // 70 tags seen an hour apart, all within the week; pages of 30.
    const many = Array.from({ length: 70 }, (_, i) =>
      event(
        new Date(NOW.getTime() - (i + 1) * 3_600_000).toISOString(),
        'tag-seen',
        `2.0.${69 - i}`,
      ),
    );
    const api = backend(many);
    const region = await renderSection(api, { pageSize: 30 });
    const table = await within(region).findByRole('table', {
      name: 'Timeline events',
    });
    const shownTags = () => rows(table).map(r => r[3]);
    const expected = (n: number) => many.slice(0, n).map(e => e.tag);

    expect(shownTags()).toEqual(expected(25));
    expect(
      within(region).getByText('25 of 30 events shown; older ones remain'),
    ).toBeInTheDocument();
    // The chart draws every event loaded, not only the rows shown.
    expect(
      within(region).getByRole('img', {
        name: /^Timeline, last week: .*; 30 events/,
      }),
    ).toBeInTheDocument();
    const user = userEvent.setup();

    const more = within(region).getByRole('button', {
      name: 'Show more events',
    });
    await user.click(more);
    expect(shownTags()).toEqual(expected(30));
    expect(
      within(region).getByText('30 events shown; older ones remain'),
    ).toBeInTheDocument();
    expect(timelineCalls(api)).toHaveLength(1);

    // The loaded events have run out: the same button now loads the next page, keeping the focus.
    const load = within(region).getByRole('button', {
      name: 'Load more events',
    });
    expect(load).toBe(more);
    expect(load).toHaveFocus();
    await user.click(load);
    await waitFor(() => expect(shownTags()).toEqual(expected(55)));
    expect(
      within(region).getByText('55 of 60 events shown; older ones remain'),
    ).toBeInTheDocument();
    expect(
      within(region).getByRole('img', { name: /; 60 events/ }),
    ).toBeInTheDocument();

    await user.click(
      within(region).getByRole('button', { name: 'Show more events' }),
    );
    expect(shownTags()).toEqual(expected(60));
    await user.click(
      within(region).getByRole('button', { name: 'Load more events' }),
    );
    await waitFor(() => expect(shownTags()).toEqual(expected(70)));
    expect(within(region).getByText('70 events shown')).toBeInTheDocument();
    expect(
      within(region).queryByRole('button', { name: /more events/ }),
    ).not.toBeInTheDocument();
    expect(timelineCalls(api).map(c => c.cursor)).toEqual([
      undefined,
      '30',
      '60',
    ]);
  });

  it('starts again from 25 rows when the range changes', async () => {
    const many = Array.from({ length: 40 }, (_, i) =>
      event(
        new Date(NOW.getTime() - (i + 1) * 60_000).toISOString(),
        'tag-seen',
        `3.0.${39 - i}`,
      ),
    );
    const region = await renderSection(backend(many));
    const table = await within(region).findByRole('table', {
      name: 'Timeline events',
    });
    expect(rows(table)).toHaveLength(25);
    const user = userEvent.setup();
    await user.click(
      within(region).getByRole('button', { name: 'Show more events' }),
    );
    expect(rows(table)).toHaveLength(40);
    expect(
      within(region).queryByRole('button', { name: /more events/ }),
    ).not.toBeInTheDocument();

    await user.click(within(region).getByRole('radio', { name: 'Last day' }));
    await waitFor(() =>
      expect(
        within(region).getByText('25 of 40 events shown'),
      ).toBeInTheDocument(),
    );
    expect(
      rows(within(region).getByRole('table', { name: 'Timeline events' })),
    ).toHaveLength(25);
  });

  it('says when the first scan runs while there is no history', async () => {
    const region = await renderSection(
      backend([], { nextScanAt: '2030-01-04T12:05:00Z' }),
    );
    expect(
      await within(region).findByText(
        'No scan history yet — first scan runs at 2030-01-04 12:05:00 UTC.',
      ),
    ).toBeInTheDocument();
    expect(within(region).queryByRole('img')).not.toBeInTheDocument();
    expect(within(region).queryByRole('table')).not.toBeInTheDocument();
  });

  it('says the range was quiet when scans ran but nothing happened in it', async () => {
    const region = await renderSection(
      backend([event('2029-11-01T08:00:00Z', 'tag-seen', '1.0.0')]),
    );
    expect(
      await within(region).findByText(
        'Nothing happened in the last week: no tag was seen and nothing was promoted.',
      ),
    ).toBeInTheDocument();
  });

  it('shows a load error with Retry and keeps the last data', async () => {
    const api = backend();
    const region = await renderSection(api, { pollIntervalMs: 100 });
    const table = await within(region).findByRole('table', {
      name: 'Timeline events',
    });
    api.failLoadsWith(new Error('backend unreachable'));

    const alert = await within(region).findByRole('alert');
    expect(alert).toHaveTextContent(
      'Could not load the timeline — showing the last data loaded, which may be stale',
    );
    expect(alert).toHaveTextContent('backend unreachable');
    expect(rows(table)).toHaveLength(10);

    api.failLoadsWith(undefined);
    await userEvent
      .setup()
      .click(within(alert).getByRole('button', { name: 'Retry' }));
    await waitFor(() =>
      expect(within(region).queryByRole('alert')).not.toBeInTheDocument(),
    );
    expect(
      rows(within(region).getByRole('table', { name: 'Timeline events' })),
    ).toHaveLength(10);
  });
});
