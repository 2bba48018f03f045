// One block client's connection to the attach endpoint: the server half of the NBD handshake
// (one export, the attached volume, whatever name the client asks for), then every request
// forwarded to the Upstream, which holds it while the volume is paused or moving.
import type { Socket } from 'node:net';
import { MAX_IO_BYTES } from '../storage-node/protocol/block-range.js';
import { NbdCmd, NbdErrno, NbdInfo, NbdOpt, NbdRep, TransmissionFlag } from '../storage-node/protocol/nbd-constants.js';
import {
  ServerHandshakeDecoder, encodeExportNameReply, encodeGreeting, encodeInfoBlockSize, encodeInfoExport, encodeOptionError, encodeOptionReply,
  encodeRepServer, parseGoData, type NbdOption,
} from '../storage-node/protocol/nbd-handshake.js';
import { RequestDecoder, encodeSimpleReply, type NbdRequest } from '../storage-node/protocol/nbd-transmission.js';
import type { Upstream, UpstreamReply } from './upstream.js';

/** What clients may send at once per connection before the endpoint stops reading (backpressure, never a drop). */
export const MAX_IN_FLIGHT_REQUESTS = 256;
export const MAX_IN_FLIGHT_BYTES = 64 * 1024 * 1024;
/** The largest request a client may send: the spec's default for clients that did not ask; split into node-sized pieces. */
export const MAX_CLIENT_REQUEST = 32 * 1024 * 1024;

export interface AttachedExport {
  name: string;
  sizeBytes: number;
  readOnly: boolean;
}

export function transmissionFlags(readOnly: boolean): number {
  const F = TransmissionFlag;
  const base = F.HAS_FLAGS | F.SEND_FLUSH | F.SEND_FUA | F.CAN_MULTI_CONN;
  return readOnly ? base | F.READ_ONLY : base | F.SEND_TRIM | F.SEND_WRITE_ZEROES;
}

export function serveLocalClient(socket: Socket, exp: AttachedExport, upstream: Upstream): void {
  socket.setNoDelay(true);
  socket.on('error', () => undefined);
  const handshake = new ServerHandshakeDecoder({ maxOptionBytes: 8 * 1024 });
  let noZeroes = false;
  const handle = (events: ReturnType<ServerHandshakeDecoder['push']>): void => {
    for (const event of events) {
      if (event.type === 'fatal') return void socket.destroy();
      if (event.type === 'client-flags') noZeroes = event.noZeroes;
      else if (event.type === 'option-error') socket.write(encodeOptionError(event.option, event.reply, event.message));
      else if (answerOption(event) === 'transmission') {
        socket.off('data', onData);
        return transmit(socket, exp, upstream, handshake.rest());
      }
    }
  };
  const onData = (chunk: Buffer) => handle(handshake.push(chunk));
  const answerOption = (o: NbdOption): 'transmission' | 'continue' => {
    const flags = transmissionFlags(exp.readOnly);
    switch (o.option) {
      case NbdOpt.EXPORT_NAME:
        socket.write(encodeExportNameReply(exp.sizeBytes, flags, noZeroes));
        return 'transmission';
      case NbdOpt.GO:
      case NbdOpt.INFO: {
        const go = parseGoData(o.option, o.data);
        if ('reply' in go) {
          socket.write(encodeOptionError(o.option, go.reply, go.message));
          if (o.option === NbdOpt.GO) handle(handshake.resume()); // a refused GO: negotiation goes on
        } else {
          socket.write(encodeInfoExport(o.option, exp.sizeBytes, flags));
          if (go.infos.includes(NbdInfo.BLOCK_SIZE)) socket.write(encodeInfoBlockSize(o.option, { min: 1, preferred: 4096, max: MAX_CLIENT_REQUEST }));
          socket.write(encodeOptionReply(o.option, NbdRep.ACK));
          if (o.option === NbdOpt.GO) return 'transmission';
        }
        return 'continue';
      }
      case NbdOpt.LIST:
        socket.write(encodeRepServer(o.option, exp.name));
        socket.write(encodeOptionReply(o.option, NbdRep.ACK));
        return 'continue';
      case NbdOpt.ABORT:
        socket.end(encodeOptionReply(o.option, NbdRep.ACK));
        return 'continue';
      case NbdOpt.STARTTLS:
        socket.write(encodeOptionError(o.option, NbdRep.ERR_POLICY, 'TLS is not offered on the local attach endpoint'));
        return 'continue';
      default:
        socket.write(encodeOptionError(o.option, NbdRep.ERR_UNSUP, `option ${o.option} is not supported`));
        return 'continue';
    }
  };
  socket.write(encodeGreeting());
  socket.on('data', onData);
}

function transmit(socket: Socket, exp: AttachedExport, upstream: Upstream, rest: Buffer): void {
  const decoder = new RequestDecoder({ maxPayload: MAX_CLIENT_REQUEST, exportSize: exp.sizeBytes });
  let inFlight = 0;
  let inFlightBytes = 0;
  let disconnecting = false;
  const settle = (req: NbdRequest, reply: UpstreamReply) => {
    inFlight -= 1;
    inFlightBytes -= req.length;
    if (!socket.destroyed) {
      socket.write(encodeSimpleReply(req.handle, reply.errno));
      if (reply.errno === NbdErrno.OK && reply.data) socket.write(reply.data);
    }
    if (disconnecting && inFlight === 0) socket.end();
    if (socket.isPaused() && inFlight < MAX_IN_FLIGHT_REQUESTS && inFlightBytes < MAX_IN_FLIGHT_BYTES) socket.resume();
  };
  const onData = (chunk: Buffer) => {
    for (const event of decoder.push(chunk)) {
      if (event.type === 'fatal') return void socket.destroy();
      if (event.type === 'request-error') {
        socket.write(encodeSimpleReply(event.handle, event.errno));
        continue;
      }
      if (event.command === NbdCmd.DISC) {
        disconnecting = true;
        if (inFlight === 0) socket.end();
        continue;
      }
      inFlight += 1;
      inFlightBytes += event.length;
      void forward(event, exp, upstream).then((reply) => settle(event, reply));
    }
    if (inFlight >= MAX_IN_FLIGHT_REQUESTS || inFlightBytes >= MAX_IN_FLIGHT_BYTES) socket.pause();
  };
  socket.on('data', onData);
  if (rest.length > 0) onData(rest);
}

/** A request on the attached volume; a read or write larger than a node takes is sent as node-sized pieces. */
async function forward(req: NbdRequest, exp: AttachedExport, upstream: Upstream): Promise<UpstreamReply> {
  switch (req.command) {
    case NbdCmd.FLUSH:
      return upstream.send({ command: req.command, flags: 0, offset: 0, length: 0 });
    case NbdCmd.READ:
      return pieces(req, upstream, true);
    case NbdCmd.WRITE:
      return exp.readOnly ? { errno: NbdErrno.EPERM } : pieces(req, upstream, false);
    case NbdCmd.WRITE_ZEROES:
    case NbdCmd.TRIM: // the node zeroes in pieces of its own
      return exp.readOnly ? { errno: NbdErrno.EPERM } : upstream.send({ command: req.command, flags: req.flags, offset: req.offset, length: req.length });
    default:
      return { errno: NbdErrno.EINVAL };
  }
}

async function pieces(req: NbdRequest, upstream: Upstream, reading: boolean): Promise<UpstreamReply> {
  if (req.length <= MAX_IO_BYTES) {
    return upstream.send({ command: req.command, flags: req.flags, offset: req.offset, length: req.length, payload: req.payload });
  }
  const sends: Promise<UpstreamReply>[] = [];
  for (let at = 0; at < req.length; at += MAX_IO_BYTES) {
    const length = Math.min(MAX_IO_BYTES, req.length - at);
    const payload = req.payload?.subarray(at, at + length);
    sends.push(upstream.send({ command: req.command, flags: req.flags, offset: req.offset + at, length, payload }));
  }
  const replies = await Promise.all(sends);
  const failed = replies.find((r) => r.errno !== NbdErrno.OK);
  if (failed) return { errno: failed.errno };
  return reading ? { errno: NbdErrno.OK, data: Buffer.concat(replies.map((r) => r.data!)) } : { errno: NbdErrno.OK };
}
