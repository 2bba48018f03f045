// One NBD message onto a socket as the Buffers it is made of — a header, then its payload as the
// chunks it arrived in — without joining them. The socket stays corked until the current tick
// ends, so every message written in it (the replies one read of the node's socket answered, the
// requests one read of the client's socket carried) leaves in one writev, not a write each.
// `written` runs once the socket is done with the message's buffers: in the callback of its last
// write (writes complete in order, corked or not, TLS or not), and only if that write succeeded —
// after an error the buffers are left to the GC, never handed back while a write may hold them.
import type { Writable } from 'node:stream';

const corked = new WeakSet<Writable>();

export function writeMessage(socket: Writable, header: Buffer, payload?: readonly Buffer[], written?: () => void): void {
  if (!corked.has(socket)) {
    corked.add(socket);
    socket.cork();
    process.nextTick(uncork, socket);
  }
  const chunks = [header, ...(payload ?? []).filter((chunk) => chunk.length > 0)];
  const last = chunks.length - 1;
  chunks.forEach((chunk, i) => {
    if (i === last && written)
      socket.write(chunk, (err) => {
        if (!err) written();
      });
    else socket.write(chunk);
  });
}

function uncork(socket: Writable): void {
  corked.delete(socket);
  socket.uncork();
}
