// Spec: a storage node bounds the NBD connections that have not presented a grant yet, in total
// and per source address, and closes each after a short handshake deadline. Past a cap a new
// connection is closed at once, before the greeting, and counted in /metrics; a client that holds
// a grant is never crowded out: a real writer (fio) keeps writing through a flood of idle ones.
import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { PreAuthLimit } from '../../storage-node/transport/pre-auth-limit.js';
import { runTool, startTool } from '../support/nbd.js';
import { startNbdNode, type NbdNode } from '../support/nbd-node.js';

const MiB = 1024 * 1024;
const CAPS = { total: 64, perSource: 40 };
const HANDSHAKE_MS = 1500;

/** How an idle connection ended up: greeted (it holds a pre-auth slot) or closed before any byte. */
function idleConnection(port: number, localAddress: string): Promise<{ socket: Socket; greeted: boolean }> {
  return new Promise((resolve) => {
    const socket = connect({ port, host: '127.0.0.1', localAddress });
    socket.once('data', () => resolve({ socket, greeted: true }));
    socket.once('close', () => resolve({ socket, greeted: false }));
    socket.on('error', () => undefined);
  });
}

function metric(text: string, name: string, label = ''): number {
  const line = text.split('\n').find((l) => l.startsWith(name) && l.includes(label));
  return line ? Number(line.split(' ').at(-1)) : 0;
}

const settle = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('NBD connections before a grant', () => {
  let node: NbdNode;
  const sockets: Socket[] = [];

  beforeAll(async () => {
    node = await startNbdNode({ preAuth: CAPS, handshakeTimeoutMs: HANDSHAKE_MS });
    await node.create('vol-busy', 64 * MiB);
  });
  afterAll(async () => {
    for (const s of sockets) s.destroy();
    await node.stop();
  });

  it('a flood of idle connections from one address is capped and counted while a client holding a grant keeps writing', async () => {
    const fio = startTool('fio', [
      '--name=busy',
      '--ioengine=nbd',
      `--uri=${node.uri(node.grant('vol-busy', 'io'))}`,
      '--rw=randwrite',
      '--bs=4k',
      '--size=64M',
      '--iodepth=4',
      '--time_based',
      '--runtime=4',
      '--output-format=json',
    ]);
    await settle(1000);
    expect(fio.settled).toBe(false);

    const flood = await Promise.all(Array.from({ length: 300 }, () => idleConnection(node.server.port, '127.0.0.1')));
    sockets.push(...flood.map((f) => f.socket));
    expect(flood.filter((f) => f.greeted)).toHaveLength(CAPS.perSource);
    const text = await node.metrics();
    expect(metric(text, 'blackstart_node_nbd_preauth_refused_total', 'reason="per-source"')).toBe(300 - CAPS.perSource);
    expect(metric(text, 'blackstart_node_nbd_preauth_connections')).toBe(CAPS.perSource);
    expect(metric(text, 'blackstart_node_nbd_connections')).toBe(1); // fio's, which presented its grant

    const result = await fio.done;
    expect(result.code).toBe(0);
    const job = JSON.parse(result.stdout.slice(result.stdout.indexOf('{'))).jobs[0];
    expect(job.error).toBe(0);
    expect(job.write.total_ios).toBeGreaterThan(100);
  }, 30_000);

  it('idle connections are closed at the handshake deadline, and their slots serve new clients again', async () => {
    await settle(HANDSHAKE_MS + 200);
    expect(metric(await node.metrics(), 'blackstart_node_nbd_preauth_connections')).toBe(0);
    const info = await runTool('nbdinfo', ['--no-content', node.uri(node.grant('vol-busy', 'io'))]);
    expect(info.stderr).toBe('');
    expect(info.code).toBe(0);
  });

  it('connections from many addresses are capped in total', async () => {
    const fromA = await Promise.all(Array.from({ length: CAPS.perSource }, () => idleConnection(node.server.port, '127.0.0.2')));
    const fromB = await Promise.all(Array.from({ length: CAPS.perSource }, () => idleConnection(node.server.port, '127.0.0.3')));
    sockets.push(...[...fromA, ...fromB].map((f) => f.socket));
    expect(fromA.every((f) => f.greeted)).toBe(true);
    expect(fromB.filter((f) => f.greeted)).toHaveLength(CAPS.total - CAPS.perSource);
    expect(metric(await node.metrics(), 'blackstart_node_nbd_preauth_refused_total', 'reason="total"')).toBe(
      2 * CAPS.perSource - CAPS.total,
    );
  });
});

describe('the pre-authentication count', () => {
  const step = fc.oneof(
    fc.record({ op: fc.constant('admit' as const), source: fc.constantFrom('a', 'b', 'c') }),
    fc.record({ op: fc.constant('release' as const), pick: fc.nat(), twice: fc.boolean() }),
  );

  it('never passes either cap, refuses exactly at a cap, and counts each connection until its one release', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 6 }),
        fc.integer({ min: 1, max: 6 }),
        fc.array(step, { maxLength: 60 }),
        (total, perSource, steps) => {
          const refusals: string[] = [];
          const limit = new PreAuthLimit({ total, perSource }, (r) => refusals.push(r));
          const held: { source: string; release: () => void }[] = [];
          let admits = 0;
          let admitted = 0;
          for (const s of steps) {
            if (s.op === 'admit') {
              const before = { total: held.length, source: held.filter((h) => h.source === s.source).length };
              const slot = limit.admit(s.source);
              admits += 1;
              const expected = before.total >= total ? 'total' : before.source >= perSource ? 'per-source' : null;
              expect('refused' in slot ? slot.refused : null).toBe(expected);
              if ('release' in slot) (held.push({ source: s.source, release: slot.release }), (admitted += 1));
            } else if (held.length > 0) {
              const [h] = held.splice(s.pick % held.length, 1);
              h!.release();
              if (s.twice) h!.release();
            }
            expect(limit.pending).toBe(held.length);
            for (const source of ['a', 'b', 'c']) expect(limit.pendingFrom(source)).toBe(held.filter((h) => h.source === source).length);
          }
          expect(refusals).toHaveLength(admits - admitted);
        },
      ),
    );
  });
});
