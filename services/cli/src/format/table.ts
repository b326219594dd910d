import { plain, type Style } from './style';

/** One column of a table. */
export interface Column<Row> {
  readonly header: string;
  readonly value: (row: Row) => string;
  /** Numbers read better right-aligned. */
  readonly align?: 'left' | 'right';
  /** Colours the (already padded) cell. */
  readonly style?: (row: Row, style: Style) => ((text: string) => string) | undefined;
  /** Longer values are cut with an ellipsis. */
  readonly maxWidth?: number;
}

export interface TableOptions {
  /** Put before every line; defaults to two spaces. */
  readonly indent?: string;
  readonly style?: Style;
  /** Shown (indented) instead of a table with no rows. */
  readonly empty?: string;
}

/**
 * Aligned columns with an upper-case header; two spaces between columns, no trailing spaces.
 * Values are single-line: newlines and tabs become spaces.
 */
export function table<Row>(
  rows: readonly Row[],
  columns: readonly Column<Row>[],
  options: TableOptions = {},
): string[] {
  const indent = options.indent ?? '  ';
  const style = options.style ?? plain;
  if (rows.length === 0) return options.empty === undefined ? [] : [`${indent}${options.empty}`];
  const cells = rows.map((row) => columns.map((c) => truncate(oneLine(c.value(row)), c.maxWidth)));
  const widths = columns.map((c, i) => Math.max(c.header.length, ...cells.map((r) => (r[i] ?? '').length)));
  const render = (values: readonly string[], colour?: (i: number) => ((t: string) => string) | undefined) =>
    (
      indent +
      values
        .map((v, i) => {
          const width = widths[i] ?? 0;
          const last = i === values.length - 1;
          const padded = columns[i]?.align === 'right' ? v.padStart(width) : last ? v : v.padEnd(width);
          const paint = colour?.(i);
          return paint ? paint(padded) : padded;
        })
        .join('  ')
    ).trimEnd();
  const header = render(
    columns.map((c) => c.header.toUpperCase()),
    () => style.bold,
  );
  return [header, ...rows.map((row, r) => render(cells[r] ?? [], (i) => columns[i]?.style?.(row, style)))];
}

/** Cuts `text` to `max` characters, the last one an ellipsis. */
export function truncate(text: string, max: number | undefined): string {
  if (max === undefined || text.length <= max) return text;
  return max <= 1 ? text.slice(0, max) : `${text.slice(0, max - 1)}…`;
}

/** One line: control characters become spaces, runs of spaces collapse. */
export const oneLine = (text: string): string => text.replace(/[\r\n\t]+/g, ' ');

/** The first 8 characters of an id, enough to tell ids apart on a screen. */
export const shortId = (id: string): string => (id.length > 8 ? id.slice(0, 8) : id);
