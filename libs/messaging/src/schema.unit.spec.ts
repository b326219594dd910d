import { quoteSchema, rowsOf } from './schema';

describe('rowsOf', () => {
  it('reads pg results, TypeORM row arrays and TypeORM [rows, affected] pairs', () => {
    expect(rowsOf({ rows: [{ a: 1 }], rowCount: 1 })).toEqual([{ a: 1 }]);
    expect(rowsOf([{ a: 1 }, { a: 2 }])).toEqual([{ a: 1 }, { a: 2 }]);
    expect(rowsOf([[{ a: 1 }], 1])).toEqual([{ a: 1 }]);
    expect(rowsOf(undefined)).toEqual([]);
  });
});

describe('quoteSchema', () => {
  it('accepts lowercase identifiers and refuses anything needing escapes', () => {
    expect(quoteSchema('messaging_test_1')).toBe('"messaging_test_1"');
    expect(() => quoteSchema('Messaging')).toThrow();
    expect(() => quoteSchema('a"; drop table x; --')).toThrow();
  });
});
