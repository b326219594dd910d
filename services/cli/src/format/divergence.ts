import type { DivergenceDoc, EmittedEvent, VerifyDoc } from '../documents';
import { isRecord } from '../http';
import { plain, type Style } from './style';

/** One difference between a recorded value and today's, at a JSON path. */
export interface DiffLine {
  /** `data.selection.candidates[0].score`; '' for the whole value. */
  readonly path: string;
  /** Compact JSON; `(absent)` when the side has nothing there. */
  readonly expected: string;
  readonly actual: string;
}

const ABSENT = '(absent)';

/**
 * The leaves where two JSON values differ, in a stable order (object keys sorted, array items
 * by index). Equal values give no line; a value of another kind (object vs array vs scalar) is
 * one line for the whole value.
 */
export function jsonDiff(expected: unknown, actual: unknown, path = ''): DiffLine[] {
  if (isRecord(expected) && isRecord(actual)) {
    const keys = [...new Set([...Object.keys(expected), ...Object.keys(actual)])].sort();
    return keys.flatMap((k) => {
      const child = path === '' ? k : `${path}.${k}`;
      if (!(k in actual)) return [{ path: child, expected: compact(expected[k]), actual: ABSENT }];
      if (!(k in expected)) return [{ path: child, expected: ABSENT, actual: compact(actual[k]) }];
      return jsonDiff(expected[k], actual[k], child);
    });
  }
  if (Array.isArray(expected) && Array.isArray(actual)) {
    const lines: DiffLine[] = [];
    for (let i = 0; i < Math.max(expected.length, actual.length); i++) {
      const child = `${path}[${i}]`;
      if (i >= actual.length) lines.push({ path: child, expected: compact(expected[i]), actual: ABSENT });
      else if (i >= expected.length)
        lines.push({ path: child, expected: ABSENT, actual: compact(actual[i]) });
      else lines.push(...jsonDiff(expected[i], actual[i], child));
    }
    return lines;
  }
  const e = compact(expected);
  const a = compact(actual);
  return canonical(expected) === canonical(actual) ? [] : [{ path, expected: e, actual: a }];
}

const MAX_DIFF_LINES = 12;

/**
 * The verify report as a person reads it: "no divergence (N decisions checked, M skipped)", or
 * each divergence with its position, stream, command, the event types recorded and decided
 * today, the reason, and a compact diff of the events' data.
 */
export function renderVerify(report: VerifyDoc, style: Style = plain): string[] {
  const counts = `(${report.checked} decision${report.checked === 1 ? '' : 's'} checked, ${report.skipped} skipped)`;
  const lines: string[] = [];
  if (report.divergences.length === 0) {
    lines.push(`${style.green('no divergence')} ${counts}`);
  } else {
    const n = report.divergences.length;
    lines.push(`${style.red(`${n} divergence${n === 1 ? '' : 's'}`)} ${counts}`);
    for (const d of report.divergences) lines.push('', ...renderDivergence(d, style));
  }
  if (report.unknownTypes.length > 0) {
    lines.push('', style.yellow(`Unknown event types (not checked): ${report.unknownTypes.join(', ')}`));
  }
  return lines;
}

/** One divergence: a header line, the event types on both sides, the reason, the diff. */
export function renderDivergence(d: DivergenceDoc, style: Style = plain): string[] {
  const types = (events: readonly EmittedEvent[]) =>
    events.length === 0 ? '(no events)' : events.map((e) => e.type).join(', ');
  const lines = [
    `${style.bold(`#${d.position}`)}  ${d.streamId}  ${d.command ? `command ${d.command}` : '(no command)'}`,
    `  expected (recorded): ${types(d.expected)}`,
    `  actual (today):      ${types(d.actual)}`,
  ];
  if (d.reason) lines.push(`  reason: ${d.reason}`);
  const diff = eventsDiff(d.expected, d.actual);
  if (diff.length > 0) {
    lines.push('  diff:');
    for (const line of diff.slice(0, MAX_DIFF_LINES)) {
      lines.push(`    ${line.path}: ${style.red(line.expected)} -> ${style.green(line.actual)}`);
    }
    if (diff.length > MAX_DIFF_LINES) lines.push(`    … ${diff.length - MAX_DIFF_LINES} more`);
  }
  return lines;
}

/**
 * Event by event: a type that changed is one line (its data would be noise); an event on one
 * side only is one line; otherwise the data's differing leaves, under `[i] Type`.
 */
export function eventsDiff(expected: readonly EmittedEvent[], actual: readonly EmittedEvent[]): DiffLine[] {
  const lines: DiffLine[] = [];
  for (let i = 0; i < Math.max(expected.length, actual.length); i++) {
    const e = expected[i];
    const a = actual[i];
    if (!a && e) lines.push({ path: `[${i}]`, expected: `${e.type} ${compact(e.data)}`, actual: ABSENT });
    else if (!e && a)
      lines.push({ path: `[${i}]`, expected: ABSENT, actual: `${a.type} ${compact(a.data)}` });
    else if (e && a && e.type !== a.type)
      lines.push({ path: `[${i}].type`, expected: e.type, actual: a.type });
    else if (e && a) lines.push(...jsonDiff(e.data, a.data, `[${i}] ${e.type}`));
  }
  return lines;
}

const MAX_VALUE = 60;

/** JSON on one line, cut to 60 characters. */
function compact(value: unknown): string {
  if (value === undefined) return ABSENT;
  const json = JSON.stringify(value) ?? String(value);
  return json.length > MAX_VALUE ? `${json.slice(0, MAX_VALUE - 1)}…` : json;
}

/** JSON with object keys sorted, so equal values compare equal whatever their key order. */
function canonical(value: unknown): string {
  return (
    JSON.stringify(value, (_key, v: unknown) =>
      isRecord(v)
        ? Object.fromEntries(
            Object.keys(v)
              .sort()
              .map((k) => [k, v[k]]),
          )
        : v,
    ) ?? 'undefined'
  );
}
