// One NBD message onto a socket as the Buffers it is made of — a header, then its payload as the
// chunks it arrived in — without joining them. The socket stays corked until the current tick
// ends, so every message written in it (the replies one read of the node's socket answered, the
// requests one read of the client's socket carried) leaves in one writev, not a write each.
import type { Writable } from 'node:stream';

const corked = new WeakSet<Writable>();

export function writeMessage(socket: Writable, header: Buffer, payload?: readonly Buffer[]): void {
  if (!corked.has(socket)) {
    corked.add(socket);
    socket.cork();
    process.nextTick(uncork, socket);
  }
  socket.write(header);
  if (payload) for (const chunk of payload) if (chunk.length > 0) socket.write(chunk);
}

function uncork(socket: Writable): void {
  corked.delete(socket);
  socket.uncork();
}
