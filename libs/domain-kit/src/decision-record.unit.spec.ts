import { readDecision, recordDecision } from './decision-record';

describe('recorded decisions', () => {
  it('keep Dates as Dates through JSON, nested and in lists', () => {
    const command = {
      type: 'MarkAssigned',
      at: new Date('2026-11-21T10:00:00.123Z'),
      deadline: new Date('2026-11-21T10:05:00Z'),
      nested: { when: [new Date(0)], text: '2026-11-21T10:00:00Z' },
      retryAt: undefined,
    };
    const stored = JSON.parse(JSON.stringify(recordDecision(command))) as unknown;
    const back = readDecision<typeof command>(stored);
    expect(back.at).toEqual(command.at);
    expect(back.deadline).toBeInstanceOf(Date);
    expect(back.nested.when[0]).toEqual(new Date(0));
    // a string that looks like a time stays a string
    expect(back.nested.text).toBe('2026-11-21T10:00:00Z');
    expect('retryAt' in back).toBe(false);
  });

  it('leave other data as it was', () => {
    const command = { type: 'Tick', n: 3, ok: true, list: [1, 'a', null], big: '9007199254740993' };
    expect(readDecision(recordDecision(command))).toEqual(command);
  });
});
