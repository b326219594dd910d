import fc from 'fast-check';
import { amount, asData, eventTime, firstAmount, parseTime, taskIdOf, text } from './events';

describe('reading event data', () => {
  it('reads RFC 3339 times exactly as Date.parse does', () => {
    const instants = fc.date({
      min: new Date('1971-01-01T00:00:00Z'),
      max: new Date('2200-01-01T00:00:00Z'),
      noInvalidDate: true,
    });
    fc.assert(
      fc.property(instants, fc.constantFrom(0, 1, 2, 3, 6), (d, fractionDigits) => {
        const iso = d.toISOString(); // 2026-11-21T10:00:00.123Z
        const s =
          fractionDigits === 0
            ? `${iso.slice(0, 19)}Z`
            : `${iso.slice(0, 19)}.${`${iso.slice(20, 23)}000`.slice(0, fractionDigits)}Z`;
        expect(parseTime(s)).toBe(Date.parse(s));
      }),
    );
    for (const s of ['2026-02-30T10:00:00Z', '2026-13-01T00:00:00Z', '2026-11-21T10:00:00+02:00', 'soon', ''])
      expect(Object.is(parseTime(s), s === '' ? NaN : Date.parse(s))).toBe(true);
  });

  it('reads what is there and gives empty values for what is not', () => {
    const d = asData({ s: 'x', n: 3, big: '12345678901', neg: -2, bad: 'abc', list: [1] });
    expect([text(d, 's'), text(d, 'n'), text(d, 'missing')]).toEqual(['x', '', '']);
    expect([amount(d, 'n'), amount(d, 'big'), amount(d, 'neg'), amount(d, 'bad'), amount(d, 's')]).toEqual([
      3, 12345678901, 0, 0, 0,
    ]);
    expect(firstAmount(d, ['missing', 'bad', 'n'])).toBe(3);
    expect(asData(null)).toEqual({});
    expect(asData([1, 2])).toEqual({});
  });

  it('dates an event by its own time field, else by when it was appended', () => {
    const e = { type: 'X', data: {}, occurredAt: '2026-11-21T10:00:05Z', globalPosition: 1n };
    expect(eventTime(asData({ at: '2026-11-21T10:00:01Z' }), ['at'], e)).toBe(
      Date.parse('2026-11-21T10:00:01Z'),
    );
    expect(eventTime(asData({ at: 'garbage' }), ['at'], e)).toBe(Date.parse('2026-11-21T10:00:05Z'));
  });

  it('takes the task out of an allocation reference by attempt', () => {
    expect([taskIdOf('t1#2'), taskIdOf('t1')]).toEqual(['t1', 't1']);
  });
});
