import { StringDecoder } from 'node:string_decoder';

/**
 * Splits a Server-Sent Events byte stream into complete events (text between blank lines),
 * across chunk boundaries and multi-byte characters. Accepts \n\n and \r\n\r\n separators.
 */
export class SseSplitter {
  private readonly decoder = new StringDecoder('utf8');
  private buffer = '';

  /** Feeds a chunk; returns the events completed by it (without the trailing blank line). */
  push(chunk: Buffer): string[] {
    this.buffer += this.decoder.write(chunk);
    if (this.buffer.indexOf('\r') !== -1) this.buffer = this.buffer.replace(/\r\n/g, '\n');
    const events: string[] = [];
    let i: number;
    while ((i = this.buffer.indexOf('\n\n')) !== -1) {
      const event = this.buffer.slice(0, i);
      this.buffer = this.buffer.slice(i + 2);
      if (event.length > 0) events.push(event);
    }
    return events;
  }

  /** Whatever is left when the stream ends (an unterminated last event), or null. */
  end(): string | null {
    this.buffer += this.decoder.end();
    const rest = this.buffer.trim();
    this.buffer = '';
    return rest.length > 0 ? rest : null;
  }
}

/** The `data:` payload of one event (lines joined with \n), or null if it has none. */
export function eventData(event: string): string | null {
  if (event.startsWith('data: ') && event.indexOf('\n') === -1) return event.slice(6);
  let data: string | null = null;
  for (const line of event.split('\n')) {
    if (line.startsWith('data:')) {
      const v = line.slice(line[5] === ' ' ? 6 : 5);
      data = data === null ? v : `${data}\n${v}`;
    }
  }
  return data;
}
