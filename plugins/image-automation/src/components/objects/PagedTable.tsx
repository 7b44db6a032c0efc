import { ReactElement, ReactNode } from 'react';
import { Alert, Flex, TablePagination, UseTableResult } from '@backstage/ui';
import { Column, TableBody, TableHeader, TableRoot } from '../table/Table';
import { errorMessage } from '../errorMessage';

/**
 * A named BUI table over {@link useCursorPages} state: its columns, rows, a load error (the page
 * shown before stays visible, marked stale) and Previous / Next.
 * @internal
 */
export function PagedTable<T extends { id: number | string }>(props: {
  'aria-label': string;
  table: UseTableResult<T>;
  columns: string[];
  what: string;
  empty: ReactNode;
  children: (item: T) => ReactElement;
}) {
  const { table, columns, what, empty, children } = props;
  const { data, error, isPending, isStale, pagination } = table.tableProps;
  return (
    <Flex direction="column" gap="2">
      {error && (
        <Alert
          status="danger"
          role="alert"
          title={`Could not load ${what}`}
          description={errorMessage(error)}
        />
      )}
      <TableRoot
        aria-label={props['aria-label']}
        stale={isStale}
        isPending={isPending}
      >
        <TableHeader>
          {columns.map(column => (
            <Column key={column}>{column}</Column>
          ))}
        </TableHeader>
        <TableBody
          items={data ?? []}
          renderEmptyState={() => (isPending ? `Loading ${what}…` : empty)}
        >
          {children}
        </TableBody>
      </TableRoot>
      {pagination.type === 'page' &&
        (pagination.hasNextPage || pagination.hasPreviousPage) && (
          <TablePagination {...pagination} />
        )}
    </Flex>
  );
}
