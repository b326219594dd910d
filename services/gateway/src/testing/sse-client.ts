import { eventually } from '@orch/testing';

/** One Server-Sent Events frame as a client parsed it. */
export interface SseFrame {
  id?: string;
  event?: string;
  data?: Record<string, unknown>;
  comment?: string;
}

/** An open stream and what it received so far. */
export interface SseClient {
  readonly res: Response;
  /** Every frame, comments included, in order. */
  readonly frames: SseFrame[];
  /** Frames with an event name, optionally only those named `name`. */
  events(name?: string): SseFrame[];
  /** Resolves once the `: connected` comment arrived. */
  connected(): Promise<true>;
  /** Resolves with the events (named `name`) once there are at least `n`. */
  waitForEvents(n: number, name?: string): Promise<SseFrame[]>;
  close(): Promise<void>;
}

const opened: SseClient[] = [];

/** A Server-Sent Events client over real HTTP that records every frame; close it (or all) when done. */
export async function openSseStream(url: string, headers: Record<string, string>): Promise<SseClient> {
  const abort = new AbortController();
  const res = await fetch(url, { headers, signal: abort.signal });
  const frames: SseFrame[] = [];
  const done = (async () => {
    if (!res.body) return;
    const reader = res.body.getReader();
    const decoder = new TextDecoder();
    let buffer = '';
    try {
      for (;;) {
        const { value, done: end } = await reader.read();
        if (end) return;
        buffer += decoder.decode(value, { stream: true });
        let cut: number;
        while ((cut = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, cut);
          buffer = buffer.slice(cut + 2);
          const frame: SseFrame = {};
          for (const line of block.split('\n')) {
            if (line.startsWith(': ')) frame.comment = line.slice(2);
            else if (line.startsWith('id: ')) frame.id = line.slice(4);
            else if (line.startsWith('event: ')) frame.event = line.slice(7);
            else if (line.startsWith('data: '))
              frame.data = JSON.parse(line.slice(6)) as Record<string, unknown>;
          }
          frames.push(frame);
        }
      }
    } catch {
      // aborted by close()
    }
  })();
  const events = (name?: string): SseFrame[] =>
    frames.filter((f) => f.event !== undefined && (name === undefined || f.event === name));
  const client: SseClient = {
    res,
    frames,
    events,
    connected: () =>
      eventually(() => (frames.some((f) => f.comment === 'connected') ? true : undefined), {
        what: 'connected',
      }),
    waitForEvents: (n: number, name?: string) =>
      eventually(() => (events(name).length >= n ? events(name) : undefined), {
        what: `${n} ${name ?? ''} events`,
      }),
    async close() {
      abort.abort();
      await done;
    },
  };
  opened.push(client);
  return client;
}

/** Closes every stream opened since the last call (an open stream would keep its consumer alive). */
export async function closeSseStreams(): Promise<void> {
  await Promise.all(opened.splice(0).map((c) => c.close()));
}
