import { create } from '@bufbuild/protobuf';
import { SessionViewSchema } from '@orch/contracts';
import { SessionDirectory } from './session-directory';

describe('SessionDirectory', () => {
  const directory = () => {
    const d = new SessionDirectory();
    // Positions arrive out of order (own appends and other replicas').
    for (const [id, position] of [
      ['s3', 30n],
      ['s1', 10n],
      ['s4', 40n],
      ['s2', 20n],
    ] as const)
      d.add(id, position);
    d.end('s2', create(SessionViewSchema, { id: 's2', status: 'completed' }));
    return d;
  };
  const ids = (page: { items: { sessionId: string }[] }) => page.items.map((e) => e.sessionId);

  it('pages newest first with a cursor', () => {
    const d = directory();
    const first = d.page(undefined, 3, () => true);
    expect(ids(first)).toEqual(['s4', 's3', 's2']);
    const second = d.page(first.next, 3, () => true);
    expect([ids(second), second.next]).toEqual([['s1'], undefined]);
  });

  it('filters, and keeps the summary of an ended session', () => {
    const d = directory();
    expect(ids(d.page(undefined, 10, (e) => e.ended === undefined))).toEqual(['s4', 's3', 's1']);
    expect(d.isEnded('s2') && !d.isEnded('s1')).toBe(true);
    expect(d.get('s2')?.ended?.status).toBe('completed');
  });

  it('registers a session once', () => {
    const d = directory();
    d.add('s1', 99n);
    expect(d.size).toBe(4);
    expect(d.get('s1')?.position).toBe(10n);
  });
});
