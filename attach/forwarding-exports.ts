// The attach endpoint's one export: the attached volume, with every command sent to the Upstream
// (which holds it while the volume is paused or moving). On a unix socket any name opens it (the
// socket's mode keeps other users out); on a TCP port only the secret name does, and nothing is
// listed.
import { timingSafeEqual } from 'node:crypto';
import { MAX_IO_BYTES } from '../storage-node/protocol/block-range.js';
import { NbdCmd, NbdErrno, TransmissionFlag, sliceChunks } from '../storage-node/protocol/nbd.js';
import type { CommandResult, NbdCommand, NbdExport, NbdExports } from '../storage-node/transport/nbd-server.js';
import type { Upstream, UpstreamReply } from './upstream.js';

/** The largest request a client may send: the spec's default for clients that did not ask; split into node-sized pieces. */
export const MAX_CLIENT_REQUEST = 32 * 1024 * 1024;

export function transmissionFlags(readOnly: boolean): number {
  const F = TransmissionFlag;
  const base = F.HAS_FLAGS | F.SEND_FLUSH | F.SEND_FUA | F.CAN_MULTI_CONN;
  return readOnly ? base | F.READ_ONLY : base | F.SEND_TRIM | F.SEND_WRITE_ZEROES;
}

export function forwardingExports(
  volume: { name: string; sizeBytes: number; readOnly: boolean },
  upstream: Upstream,
  secretName?: string,
): NbdExports {
  const exp: NbdExport = { size: volume.sizeBytes, flags: transmissionFlags(volume.readOnly) };
  return {
    open: (name) => (secretName === undefined || sameSecret(name, secretName) ? exp : null),
    list: () => (secretName === undefined ? [volume.name] : []),
    blockSizes: { min: 1, preferred: 4096, max: MAX_CLIENT_REQUEST },
    run: (_exp, req) => forward(req, volume.readOnly, upstream),
  };
}

/** Not async: the upstream's promise is the answer itself, with no wrapper per request. */
function forward(req: NbdCommand, readOnly: boolean, upstream: Upstream): Promise<CommandResult> {
  switch (req.command) {
    case NbdCmd.FLUSH:
      return upstream.send({ command: req.command, flags: 0, offset: 0, length: 0 });
    case NbdCmd.READ:
      return pieces(req, upstream, true);
    case NbdCmd.WRITE:
      return readOnly ? refuse(NbdErrno.EPERM) : pieces(req, upstream, false);
    case NbdCmd.WRITE_ZEROES:
    case NbdCmd.TRIM: // the node zeroes in pieces of its own
      return readOnly
        ? refuse(NbdErrno.EPERM)
        : upstream.send({ command: req.command, flags: req.flags, offset: req.offset, length: req.length });
    default:
      return refuse(NbdErrno.EINVAL);
  }
}

const refuse = (errno: number): Promise<CommandResult> => Promise.resolve({ errno });

/**
 * A read or write larger than a node takes goes as node-sized pieces (a write's as subarrays of
 * its chunks, a read's answer as the pieces' chunks in order: nothing is copied); the first
 * failure is the answer.
 */
function pieces(req: NbdCommand, upstream: Upstream, reading: boolean): Promise<UpstreamReply> {
  if (req.length <= MAX_IO_BYTES) {
    return upstream.send({ command: req.command, flags: req.flags, offset: req.offset, length: req.length, payload: req.payload });
  }
  const sends: Promise<UpstreamReply>[] = [];
  for (let at = 0; at < req.length; at += MAX_IO_BYTES) {
    const length = Math.min(MAX_IO_BYTES, req.length - at);
    sends.push(
      upstream.send({
        command: req.command,
        flags: req.flags,
        offset: req.offset + at,
        length,
        payload: req.payload && sliceChunks(req.payload, at, at + length),
      }),
    );
  }
  return joined(sends, reading);
}

async function joined(sends: Promise<UpstreamReply>[], reading: boolean): Promise<UpstreamReply> {
  const replies = await Promise.all(sends);
  const failed = replies.find((r) => r.errno !== NbdErrno.OK);
  if (failed) return { errno: failed.errno };
  return reading ? { errno: NbdErrno.OK, data: replies.flatMap((r) => r.data!) } : { errno: NbdErrno.OK };
}

function sameSecret(given: string, secret: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(secret);
  return a.length === b.length && timingSafeEqual(a, b);
}
