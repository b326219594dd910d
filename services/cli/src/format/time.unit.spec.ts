import { formatClock, formatDuration, formatOffset, parseTime } from './time';

describe('formatOffset', () => {
  it.each([
    [0, '+0.000s'],
    [1234, '+1.234s'],
    [59_999, '+59.999s'],
    [62_500, '+1m02.500s'],
    [3_723_456, '+1h02m03.456s'],
    [-2, '-0.002s'],
  ])('%d ms reads %s', (ms, text) => {
    expect(formatOffset(ms)).toBe(text);
  });
});

describe('formatClock', () => {
  it('shows the UTC time of day with milliseconds', () => {
    expect(formatClock(new Date('2026-03-01T10:00:01.234Z'))).toBe('10:00:01.234Z');
  });
});

describe('formatDuration', () => {
  it.each([
    [850, '850 ms'],
    [12_345, '12.3 s'],
    [245_000, '4 min 05 s'],
    [7_380_000, '2 h 03 min'],
  ])('%d ms reads %s', (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });
});

describe('parseTime', () => {
  it('reads RFC 3339 and refuses anything else', () => {
    expect(parseTime('2026-03-01T10:00:00Z')?.getTime()).toBe(Date.parse('2026-03-01T10:00:00Z'));
    expect(parseTime('yesterday')).toBeUndefined();
    expect(parseTime('')).toBeUndefined();
    expect(parseTime(42)).toBeUndefined();
  });
});
