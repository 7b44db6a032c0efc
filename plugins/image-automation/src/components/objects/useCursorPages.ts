import { useEffect, useRef } from 'react';
import { useTable } from '@backstage/ui';
import { Page } from '@imageops/backstage-plugin-image-automation-common';

/** Rows per page of the drawer's paged tables. @internal */
export const DRAWER_PAGE_SIZE = 20;

/**
 * BUI's cursor-paged table state over one of the backend's `Page` endpoints: Next follows
 * `nextCursor`, Previous goes back through the pages seen. Goes back to the first page when
 * `reloadOn` changes (e.g. after the object ran again).
 * @internal
 */
export function useCursorPages<T extends { id: number | string }>(
  load: (options: { limit: number; cursor?: string }) => Promise<Page<T>>,
  reloadOn: unknown,
) {
  const table = useTable<T>({
    mode: 'cursor',
    getData: async ({ cursor, pageSize }) => {
      const page = await load({ limit: pageSize, cursor });
      return { data: page.items, nextCursor: page.nextCursor };
    },
    paginationOptions: {
      pageSize: DRAWER_PAGE_SIZE,
      showPageSizeOptions: false,
      pageSizeOptions: [],
    },
  });
  const { reload } = table;
  const first = useRef(reloadOn);
  useEffect(() => {
    if (reloadOn !== first.current) {
      first.current = reloadOn;
      reload();
    }
  }, [reloadOn, reload]);
  return table;
}
