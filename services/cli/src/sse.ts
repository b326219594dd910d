/** One Server-Sent Events message (https://html.spec.whatwg.org/multipage/server-sent-events.html). */
export interface SseMessage {
  /** The `id:` field, '' when the message had none. */
  readonly id: string;
  /** The `event:` field, 'message' by default. */
  readonly event: string;
  /** The `data:` lines joined with newlines. */
  readonly data: string;
}

/**
 * Parses an event stream fed in arbitrary chunks: lines end in CRLF, LF or CR; a blank line
 * dispatches the message; comment lines (`: heartbeat`) and `retry:` are ignored. Chunks may
 * split a line anywhere, including between CR and LF.
 */
export class SseParser {
  private buffer = '';
  private id = '';
  private event = '';
  private data: string[] = [];
  private hasData = false;
  /** A chunk ended in CR: an LF starting the next one belongs to the same line break. */
  private pendingCr = false;

  push(chunk: string): SseMessage[] {
    let text = chunk;
    if (this.pendingCr && text.startsWith('\n')) text = text.slice(1);
    this.pendingCr = false;
    this.buffer += text;
    const messages: SseMessage[] = [];
    for (;;) {
      const match = /\r\n|\n|\r/.exec(this.buffer);
      if (!match) break;
      // A CR at the very end may be the first half of a CRLF split across chunks.
      if (match[0] === '\r' && match.index === this.buffer.length - 1) this.pendingCr = true;
      const line = this.buffer.slice(0, match.index);
      this.buffer = this.buffer.slice(match.index + match[0].length);
      const message = this.line(line);
      if (message) messages.push(message);
    }
    return messages;
  }

  private line(line: string): SseMessage | undefined {
    if (line === '') return this.dispatch();
    if (line.startsWith(':')) return undefined;
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'data') {
      this.data.push(value);
      this.hasData = true;
    } else if (field === 'event') {
      this.event = value;
    } else if (field === 'id' && !value.includes('\u0000')) {
      this.id = value;
    }
    return undefined;
  }

  private dispatch(): SseMessage | undefined {
    const message = this.hasData
      ? { id: this.id, event: this.event || 'message', data: this.data.join('\n') }
      : undefined;
    // The id persists across messages (it is the stream's last event id); the rest resets.
    this.event = '';
    this.data = [];
    this.hasData = false;
    return message;
  }

  /** The last `id:` seen: where a reconnecting client resumes (Last-Event-ID). */
  get lastEventId(): string {
    return this.id;
  }
}
