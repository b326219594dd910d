import { colours, type Style } from './style';
import { table, truncate } from './table';

interface Row {
  readonly name: string;
  readonly count: number;
}
const rows: Row[] = [
  { name: 'design', count: 1 },
  { name: 'a-much-longer-key', count: 120 },
];

describe('table', () => {
  it('aligns columns under an upper-case header, numbers to the right, no trailing spaces', () => {
    const lines = table(rows, [
      { header: 'key', value: (r) => r.name },
      { header: 'count', value: (r) => String(r.count), align: 'right' },
      { header: 'note', value: (r) => (r.count > 100 ? 'busy' : '') },
    ]);
    expect(lines).toEqual([
      '  KEY                COUNT  NOTE',
      '  design                 1',
      '  a-much-longer-key    120  busy',
    ]);
  });

  it('cuts long values with an ellipsis and flattens newlines', () => {
    const lines = table(
      [{ text: 'line one\nline two is long' }],
      [{ header: 'text', value: (r) => r.text, maxWidth: 12 }],
      {
        indent: '',
      },
    );
    expect(lines[1]).toBe('line one li…');
  });

  it('shows the empty text instead of a header for no rows', () => {
    expect(table([], [{ header: 'x', value: () => '' }], { empty: '(none)' })).toEqual(['  (none)']);
    expect(table([], [{ header: 'x', value: () => '' }])).toEqual([]);
  });

  it('colours cells after padding, so escape codes do not move the columns', () => {
    const columns = [
      { header: 'key', value: (r: Row) => r.name, style: (_r: Row, s: Style) => s.red },
      { header: 'count', value: (r: Row) => String(r.count) },
    ];
    const strip = (s: string) => s.replace(/\u001b\[\d+m/g, '');
    const coloured = table(rows, columns, { style: colours });
    expect(coloured[1]).toContain('\u001b[31m');
    expect(coloured.map(strip)).toEqual(table(rows, columns));
  });
});

describe('truncate', () => {
  it('keeps short text and cuts long text to the width', () => {
    expect(truncate('abc', 5)).toBe('abc');
    expect(truncate('abcdef', 5)).toBe('abcd…');
    expect(truncate('abcdef', undefined)).toBe('abcdef');
  });
});
