// What a volume's NBD clients can hold on a node is bounded — connections per volume, requests
// per connection — and inside those bounds a held request is never refused nor dropped.
import type { Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { negotiate } from '../../attach/negotiate.js';
import { NbdCmd, NbdErrno } from '../../storage-node/protocol/nbd-constants.js';
import { ReplyDecoder, encodeRequest } from '../../storage-node/protocol/nbd-transmission.js';
import { MAX_CONNECTIONS_PER_VOLUME } from '../../storage-node/transport/nbd-export.js';
import { runTool } from '../support/nbd.js';
import { startNbdNode, type NbdNode } from '../support/nbd-node.js';

const MiB = 1024 * 1024;

describe('NBD bounds on a storage node', () => {
  let node: NbdNode;
  const open: Socket[] = [];
  const connectTo = (volumeId: string) =>
    negotiate({ nodeId: 'n', nodeBootId: 'b', host: '127.0.0.1', port: node.server.port, exportName: node.grant(volumeId, 'io') });

  beforeAll(async () => {
    node = await startNbdNode();
    await node.create('vol-conns', 4 * MiB);
    await node.create('vol-held', 4 * MiB);
  });
  afterAll(async () => {
    for (const s of open) s.destroy();
    await node.stop();
  });

  it(`a volume takes ${MAX_CONNECTIONS_PER_VOLUME} connections at once; one more is refused until one closes`, async () => {
    for (let i = 0; i < MAX_CONNECTIONS_PER_VOLUME; i++) open.push(await connectTo('vol-conns'));
    await expect(connectTo('vol-conns')).rejects.toThrow(/refused/);
    expect((await runTool('nbdinfo', ['--no-content', node.uri(node.grant('vol-held', 'io'))])).code).toBe(0);
    open.pop()!.destroy();
    await new Promise((r) => setTimeout(r, 100));
    open.push(await connectTo('vol-conns'));
  });

  it('2,048 reads held on a paused volume over 8 connections are all answered once I/O is enabled', async () => {
    await node.service.setIo('vol-held', 'paused');
    const perConnection = 256;
    const sockets = await Promise.all(Array.from({ length: 8 }, () => connectTo('vol-held')));
    const answered = sockets.map((socket) => readsAnswered(socket, perConnection));
    await new Promise((r) => setTimeout(r, 500));
    expect(node.service.hosted('vol-held').gate.heldCount).toBe(8 * perConnection);
    await node.service.setIo('vol-held', 'enabled');
    const errnos = (await Promise.all(answered)).flat();
    expect(errnos).toHaveLength(8 * perConnection);
    expect(errnos.every((e) => e === NbdErrno.OK)).toBe(true);
    for (const s of sockets) s.destroy();
  });
});

/** Sends `count` 4 KiB reads on one connection; resolves with each reply's errno. */
function readsAnswered(socket: Socket, count: number): Promise<number[]> {
  const errnos: number[] = [];
  const decoder = new ReplyDecoder(() => 4096);
  return new Promise((resolve, reject) => {
    socket.on('data', (chunk: Buffer) => {
      for (const event of decoder.push(chunk)) {
        if (event.type === 'fatal') return reject(new Error(event.message));
        errnos.push(event.errno);
        if (errnos.length === count) resolve(errnos);
      }
    });
    socket.on('close', () => errnos.length < count && reject(new Error(`closed after ${errnos.length} replies`)));
    socket.resume();
    for (let i = 0; i < count; i++) {
      socket.write(encodeRequest({ command: NbdCmd.READ, flags: 0, handle: BigInt(i + 1), offset: (i % 1024) * 4096, length: 4096 }));
    }
  });
}
