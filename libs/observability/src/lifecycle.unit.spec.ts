import { Writable } from 'node:stream';
import { createLogger } from './logger';
import { stopOnSignal } from './lifecycle';

function setup(close: () => Promise<void>, timeoutMs = 1_000) {
  const lines: string[] = [];
  const logger = createLogger({
    service: 'svc',
    destination: new Writable({ write: (c: Buffer, _e, done) => (lines.push(c.toString()), done()) }),
  });
  const codes: number[] = [];
  const stop = stopOnSignal({ service: 'svc', logger, close, timeoutMs, exit: (code) => codes.push(code) });
  return { stop, codes, lines };
}

afterEach(() => {
  process.removeAllListeners('SIGTERM');
  process.removeAllListeners('SIGINT');
});

describe('stopOnSignal', () => {
  it('exits 0 after a clean stop, once however many signals arrive', async () => {
    let closed = 0;
    const { stop, codes, lines } = setup(async () => void closed++);
    await Promise.all([stop('SIGTERM'), stop('SIGINT')]);
    expect(closed).toBe(1);
    expect(codes).toEqual([0]);
    expect(lines.join('')).toContain('svc stopped');
  });

  it('exits 1 and says why when closing fails', async () => {
    const { stop, codes, lines } = setup(async () => {
      throw new Error('socket stuck');
    });
    await stop('SIGTERM');
    expect(codes).toEqual([1]);
    expect(lines.join('')).toContain('did not stop cleanly');
  });

  it('exits 1 when closing outlasts the timeout', async () => {
    jest.useFakeTimers();
    try {
      const { stop, codes, lines } = setup(() => new Promise(() => undefined), 5_000);
      void stop('SIGTERM');
      jest.advanceTimersByTime(5_000);
      expect(codes).toEqual([1]);
      expect(lines.join('')).toContain('did not stop within 5 s');
    } finally {
      jest.useRealTimers();
    }
  });
});
