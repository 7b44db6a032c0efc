import { ReactNode, useState } from 'react';
import {
  Flex,
  Radio,
  RadioGroup,
  SearchField,
  TablePagination,
  Text,
} from '@backstage/ui';
import {
  Cell,
  Column,
  Row,
  TableBody,
  TableHeader,
  TableRoot,
} from '../table/Table';
import { TagVerdictView } from '@imageops/backstage-plugin-image-automation-common';
import { formatTime } from '../format';
import {
  parseVerdictFilter,
  presentVerdict,
  VERDICT_FILTERS,
  VerdictFilter,
} from './verdicts';

/** Rows per page: a repository may hold 10,000 tags, and only one page is rendered. @internal */
export const TAG_PAGE_SIZE = 100;

/** Props of {@link TagVerdictTable}. @internal */
export interface TagVerdictTableProps {
  'aria-label': string;
  /** The tags to list (already filtered), in order. */
  verdicts: TagVerdictView[];
  /** The ImagePolicy spec the verdicts are for: the reasons name its range and pattern. */
  spec: Record<string, unknown>;
  /** Tag → its verdict under the current policy, for the tags whose verdict would change. */
  previous?: Map<string, string>;
  /** What the table says when there is no row. */
  empty: ReactNode;
  /** Changing it (e.g. with the filter) goes back to the first page; a refresh keeps the page. */
  pageKey?: string;
}

/**
 * Tags with their verdict (label in text, colour and glyph only repeat it), the reason, digest
 * and first-seen time, {@link TAG_PAGE_SIZE} rows at a time. With `previous`, a column says
 * what each changed tag's verdict is now.
 * @internal
 */
export function TagVerdictTable(props: TagVerdictTableProps) {
  const { verdicts, spec, previous, empty, pageKey } = props;
  const [paging, setPaging] = useState({ pageKey, offset: 0 });
  const requestedOffset = paging.pageKey === pageKey ? paging.offset : 0;
  const setOffset = (next: number) => setPaging({ pageKey, offset: next });
  // A refresh may shorten the list below the page shown: show its last page instead.
  const lastPage =
    Math.max(0, Math.ceil(verdicts.length / TAG_PAGE_SIZE) - 1) * TAG_PAGE_SIZE;
  const offset = Math.min(requestedOffset, lastPage);
  const page = verdicts.slice(offset, offset + TAG_PAGE_SIZE);
  const columns = [
    'Tag',
    'Verdict',
    'Reason',
    ...(previous ? ['Now'] : []),
    'Digest',
    'First seen',
  ];

  return (
    <Flex direction="column" gap="2">
      <TableRoot aria-label={props['aria-label']}>
        <TableHeader>
          {columns.map(column => (
            <Column key={column}>{column}</Column>
          ))}
        </TableHeader>
        <TableBody
          items={page.map(verdict => ({ id: verdict.tag, verdict }))}
          dependencies={[spec, previous]}
          renderEmptyState={() => empty}
        >
          {({ verdict }) => {
            const shown = presentVerdict(verdict, spec);
            return (
              <Row id={verdict.tag}>
                {columns.map(column => (
                  <Cell key={column}>
                    {cellOf(column, verdict, shown, previous)}
                  </Cell>
                ))}
              </Row>
            );
          }}
        </TableBody>
      </TableRoot>
      {verdicts.length > TAG_PAGE_SIZE && (
        <TablePagination
          pageSize={TAG_PAGE_SIZE}
          pageSizeOptions={[]}
          offset={offset}
          totalCount={verdicts.length}
          hasPreviousPage={offset > 0}
          hasNextPage={offset + TAG_PAGE_SIZE < verdicts.length}
          onPreviousPage={() => setOffset(Math.max(0, offset - TAG_PAGE_SIZE))}
          onNextPage={() => setOffset(offset + TAG_PAGE_SIZE)}
          getLabel={() =>
            `Tags ${(offset + 1).toLocaleString('en-US')}–${(
              offset + page.length
            ).toLocaleString('en-US')} of ${verdicts.length.toLocaleString(
              'en-US',
            )}`
          }
        />
      )}
    </Flex>
  );
}

function cellOf(
  column: string,
  verdict: TagVerdictView,
  shown: ReturnType<typeof presentVerdict>,
  previous: Map<string, string> | undefined,
): ReactNode {
  switch (column) {
    case 'Tag':
      return <Text style={{ overflowWrap: 'anywhere' }}>{verdict.tag}</Text>;
    case 'Verdict':
      return (
        <Text weight="bold" color={shown.color}>
          <span aria-hidden="true">{shown.glyph} </span>
          {shown.label}
        </Text>
      );
    case 'Reason':
      return (
        <Flex direction="column" gap="0">
          <Text>{shown.reason}</Text>
          {verdict.detail && (
            <Text variant="body-small" color="secondary">
              {verdict.detail}
            </Text>
          )}
        </Flex>
      );
    case 'Now':
      return previous?.has(verdict.tag) ? (
        <Text>was {previous.get(verdict.tag)}</Text>
      ) : (
        <Text color="secondary">unchanged</Text>
      );
    case 'Digest':
      // The whole digest stays in the text (screen readers, copy); the cell only shows its start.
      return verdict.digest ? (
        <Text
          title={verdict.digest}
          style={{
            display: 'block',
            maxWidth: '16ch',
            overflow: 'hidden',
            textOverflow: 'ellipsis',
            whiteSpace: 'nowrap',
          }}
        >
          {verdict.digest}
        </Text>
      ) : (
        <Text color="secondary">not resolved</Text>
      );
    default:
      return <Text>{formatTime(verdict.firstSeenAt)}</Text>;
  }
}

/** Props of {@link VerdictFilterBar}. @internal */
export interface VerdictFilterBarProps {
  /** Names the list the controls act on, e.g. "tags" or "proposed tags". */
  what: string;
  filter: VerdictFilter;
  search: string;
  onFilterChange: (filter: VerdictFilter) => void;
  onSearchChange: (search: string) => void;
}

/** "All / Eligible only / Rejected only" and a search field over the tags of a list. @internal */
export function VerdictFilterBar(props: VerdictFilterBarProps) {
  const { what, filter, search, onFilterChange, onSearchChange } = props;
  return (
    <Flex gap="4" align="end" style={{ flexWrap: 'wrap' }}>
      <RadioGroup
        label={`Show ${what}`}
        orientation="horizontal"
        value={filter}
        onChange={value => onFilterChange(parseVerdictFilter(value))}
      >
        {VERDICT_FILTERS.map(f => (
          <Radio key={f.id} value={f.id}>
            {f.label}
          </Radio>
        ))}
      </RadioGroup>
      <SearchField
        label={`Search ${what}`}
        size="small"
        value={search}
        onChange={onSearchChange}
      />
    </Flex>
  );
}
