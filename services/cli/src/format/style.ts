/**
 * A little colour when a person reads a terminal, none otherwise (pipes, files, NO_COLOR).
 * Styles are applied after alignment, so escape codes never upset column widths.
 */
export interface Style {
  readonly bold: (text: string) => string;
  readonly dim: (text: string) => string;
  readonly red: (text: string) => string;
  readonly green: (text: string) => string;
  readonly yellow: (text: string) => string;
}

const same = (text: string): string => text;

/** No escape codes at all. */
export const plain: Style = { bold: same, dim: same, red: same, green: same, yellow: same };

const ansi =
  (open: number, close: number) =>
  (text: string): string =>
    text === '' ? text : `\u001b[${open}m${text}\u001b[${close}m`;

/** ANSI colours for a terminal. */
export const colours: Style = {
  bold: ansi(1, 22),
  dim: ansi(2, 22),
  red: ansi(31, 39),
  green: ansi(32, 39),
  yellow: ansi(33, 39),
};

/** Colours only for a TTY, and never when NO_COLOR is set (https://no-color.org). */
export function styleFor(
  out: { readonly isTTY?: boolean },
  env: Readonly<Record<string, string | undefined>>,
): Style {
  const noColor = env['NO_COLOR'] !== undefined && env['NO_COLOR'] !== '';
  return out.isTTY === true && !noColor && env['TERM'] !== 'dumb' ? colours : plain;
}

const FAILED = new Set([
  'failed',
  'dead_lettered',
  'timed_out',
  'cancelled',
  'unhealthy',
  'offline',
  'open',
  'refused',
  'aborted',
]);
const DONE = new Set(['succeeded', 'completed', 'idle', 'closed', 'granted']);
const WAITING = new Set(['waiting', 'preempted', 'draining', 'half_open', 'blocked']);

/** A status coloured by what it means: red for failures, green for success, yellow for waits. */
export function statusColour(style: Style, status: string): (text: string) => string {
  if (FAILED.has(status)) return style.red;
  if (DONE.has(status)) return style.green;
  if (WAITING.has(status)) return style.yellow;
  return (text) => text;
}
