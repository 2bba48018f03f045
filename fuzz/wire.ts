// Bytes in, events out, with a deadline per wait: one NBD case's connection (TCP, or the TLS
// socket over it once STARTTLS was acknowledged).
import type { Socket } from 'node:net';

export class Wire {
  private readonly chunks: Buffer[] = [];
  private closed = false;
  private wake: (() => void) | null = null;
  private readonly onData = (c: Buffer) => this.push(c);
  private readonly onClose = () => {
    this.closed = true;
    this.wake?.();
  };

  constructor(readonly socket: Socket) {
    socket.on('data', this.onData);
    socket.on('close', this.onClose);
    socket.on('error', () => undefined);
  }

  /** Stops reading the socket (TLS takes it over): the bytes read and not taken yet. */
  detach(): Buffer {
    this.socket.off('data', this.onData);
    this.socket.off('close', this.onClose);
    return Buffer.concat(this.chunks.splice(0));
  }

  /** Bytes a decoder read past what it needed: they come first again. */
  unshift(c: Buffer): void {
    if (c.length) this.chunks.unshift(c);
  }

  private push(c: Buffer): void {
    this.chunks.push(c);
    this.wake?.();
  }

  /** Feeds arriving bytes to `take` until it returns a value; 'closed' or 'hang' otherwise. */
  async until<T>(take: (chunk: Buffer) => T | null, timeoutMs: number): Promise<T | 'closed' | 'hang'> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      while (this.chunks.length) {
        const found = take(this.chunks.shift()!);
        if (found !== null) return found;
      }
      if (this.closed) return 'closed';
      const left = deadline - Date.now();
      if (left <= 0) return 'hang';
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.wake = () => {
          clearTimeout(timer);
          this.wake = null;
          resolve();
        };
      });
    }
  }

  /** Waits for the other side to close (reading and dropping whatever it sends). */
  closes(timeoutMs: number): Promise<'closed' | 'hang'> {
    return this.until<never>(() => null, timeoutMs);
  }
}
