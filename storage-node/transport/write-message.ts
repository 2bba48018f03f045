// One NBD message onto a socket as the Buffers it is made of — a header, then its payload as the
// chunks it arrived in — without joining them: corked, so they leave in one writev.
import type { Writable } from 'node:stream';

export function writeMessage(socket: Writable, header: Buffer, payload?: readonly Buffer[]): void {
  if (!payload || payload.length === 0) {
    socket.write(header);
    return;
  }
  socket.cork();
  socket.write(header);
  for (const chunk of payload) if (chunk.length > 0) socket.write(chunk);
  socket.uncork();
}
