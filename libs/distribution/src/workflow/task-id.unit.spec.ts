import { taskIdFor } from './task-id';

describe('taskIdFor', () => {
  it('gives the same version 5 UUID for the same session and key', () => {
    const id = taskIdFor('s-1', 'build');
    expect(id).toBe(taskIdFor('s-1', 'build'));
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });

  it('differs between keys and between sessions, even where a plain concatenation would not', () => {
    const ids = [taskIdFor('s-1', 'build'), taskIdFor('s-1', 'test'), taskIdFor('s-2', 'build')];
    expect(new Set(ids).size).toBe(3);
    expect(taskIdFor('a', 'bc')).not.toBe(taskIdFor('ab', 'c'));
  });
});
