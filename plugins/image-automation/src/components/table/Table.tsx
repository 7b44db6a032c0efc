import {
  Children,
  createContext,
  Fragment,
  ReactElement,
  ReactNode,
  TdHTMLAttributes,
  useContext,
  useId,
  useRef,
} from 'react';
import { Text, TextColorStatus, TextColors } from '@backstage/ui';
import './table.css';

/*
 * The plugin's read-only tables, with the names and props of BUI's table parts that the plugin
 * uses, rendered as native table elements with BUI's look (`table.css`).
 *
 * Why not BUI's `Table`: it is react-aria's grid, which builds every row and cell twice (a hidden
 * collection, then the DOM) and wires keyboard grid navigation for selection. These tables select
 * nothing: their interactive parts are BUI buttons and links, reached with Tab. Measured in
 * `bench/entity-tab.ts`, the grid cost about 100 ms per nine-row table, most of the tab's render.
 * Native tables give screen readers the same table, row, column header and row header semantics.
 */

/**
 * The first cell of each row is its row header, as with BUI's `isRowHeader` on the first column;
 * the context carries its id (which names the row, as react-aria's rows are named) to that cell.
 */
const RowHeaderCell = createContext<string | undefined>(undefined);

/** A table: `aria-label` names it; `stale` dims it while its data is being refreshed. @internal */
export function TableRoot(props: {
  'aria-label': string;
  stale?: boolean;
  isPending?: boolean;
  children: ReactNode;
}) {
  return (
    <table
      className="ia-Table"
      aria-label={props['aria-label']}
      aria-busy={props.stale || props.isPending || undefined}
      data-stale={props.stale || props.isPending ? 'true' : undefined}
    >
      {props.children}
    </table>
  );
}

/** The header row; its children are {@link Column}s. @internal */
export function TableHeader(props: { children: ReactNode }) {
  return (
    <thead>
      <tr>{props.children}</tr>
    </thead>
  );
}

/** A column header. The first column holds the row headers. @internal */
export function Column(props: {
  children: ReactNode;
  width?: string | number;
}) {
  return (
    <th
      scope="col"
      style={props.width === undefined ? undefined : { width: props.width }}
    >
      {props.children}
    </th>
  );
}

/**
 * The rows: static `children`, or `items` with a function rendering each item's {@link Row}
 * (keyed by the item's `id`). As with BUI's (react-aria's) table, a rendered row is kept for as
 * long as its item object and the `dependencies` stay the same, so a table re-renders only the
 * rows whose data changed. With no row, `renderEmptyState` fills one cell across the table.
 * @internal
 */
export function TableBody<T extends { id: string | number }>(
  props:
    | {
        items?: undefined;
        children: ReactNode;
        renderEmptyState?: () => ReactNode;
      }
    | {
        items: readonly T[];
        children: (item: T) => ReactElement;
        dependencies?: readonly unknown[];
        renderEmptyState?: () => ReactNode;
      },
) {
  const cache = useRef<{
    dependencies?: readonly unknown[];
    rows: WeakMap<T, ReactElement>;
  }>();
  let rows: ReactNode;
  if (props.items === undefined) {
    rows = props.children;
  } else {
    const { items, children: render, dependencies } = props;
    if (
      !cache.current ||
      !sameValues(cache.current.dependencies, dependencies)
    ) {
      cache.current = { dependencies, rows: new WeakMap() };
    }
    const kept = cache.current.rows;
    rows = items.map(item => {
      let row = kept.get(item);
      if (!row) {
        row = <Fragment key={item.id}>{render(item)}</Fragment>;
        kept.set(item, row);
      }
      return row;
    });
  }
  const empty = Children.count(rows) === 0 && props.renderEmptyState;
  return (
    <tbody>
      {empty ? (
        <tr>
          <td colSpan={100}>{empty()}</td>
        </tr>
      ) : (
        rows
      )}
    </tbody>
  );
}

function sameValues(
  a: readonly unknown[] | undefined,
  b: readonly unknown[] | undefined,
): boolean {
  if (a === b) return true;
  if (!a || !b || a.length !== b.length) return false;
  return a.every((value, i) => Object.is(value, b[i]));
}

/** A row, named by its first cell, the row header. @internal */
export function Row(props: { id?: string | number; children: ReactNode }) {
  const headerId = useId();
  return (
    <tr aria-labelledby={headerId}>
      {Children.toArray(props.children).map((cell, i) =>
        i === 0 ? (
          <RowHeaderCell.Provider key="row-header" value={headerId}>
            {cell}
          </RowHeaderCell.Provider>
        ) : (
          cell
        ),
      )}
    </tr>
  );
}

/** A cell (`th scope="row"` in the first column). @internal */
export function Cell(props: TdHTMLAttributes<HTMLTableCellElement>) {
  const headerId = useContext(RowHeaderCell);
  return headerId ? (
    <RowHeaderCell.Provider value={undefined}>
      <th scope="row" id={headerId} {...props} />
    </RowHeaderCell.Provider>
  ) : (
    <td {...props} />
  );
}

/** A cell of text, with an optional secondary line, as BUI's `CellText`. @internal */
export function CellText(props: {
  title: string;
  description?: string;
  color?: TextColors | TextColorStatus;
}) {
  return (
    <Cell>
      <div className="ia-TableCellContent">
        <Text as="p" variant="body-medium" color={props.color}>
          {props.title}
        </Text>
        {props.description && (
          <Text variant="body-medium" color="secondary">
            {props.description}
          </Text>
        )}
      </div>
    </Cell>
  );
}
