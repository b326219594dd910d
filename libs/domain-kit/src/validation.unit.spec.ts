import { textProblems } from './validation';

describe('textProblems()', () => {
  it('accepts text up to the limit', () => {
    expect(textProblems('name', 'abc', 3)).toEqual([]);
  });
  it('rejects blank text', () => {
    expect(textProblems('name', '  ', 3)).toEqual([{ path: 'name', message: 'must not be empty' }]);
  });
  it('rejects text over the limit', () => {
    expect(textProblems('name', 'abcd', 3)).toEqual([
      { path: 'name', message: 'must be at most 3 characters' },
    ]);
  });
});
