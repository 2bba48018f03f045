// The client half of the NBD handshake with a storage node: fixed newstyle, NBD_OPT_GO with the
// grant as the export name. Resolves with the socket ready for transmission.
import { connect, type Socket } from 'node:net';
import {
  ClientHandshakeDecoder,
  encodeClientFlags,
  encodeGoOption,
  type ClientHandshakeEvent,
} from '../storage-node/protocol/nbd-handshake.js';
import { HandshakeFlag, NbdInfo, NbdOpt, NbdRep } from '../storage-node/protocol/nbd-constants.js';
import type { ServingCopy } from './placement.js';

const HANDSHAKE_TIMEOUT_MS = 10_000;

export class NegotiationError extends Error {}

export function negotiate(placement: ServingCopy): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: placement.host, port: placement.port, noDelay: true });
    const decoder = new ClientHandshakeDecoder();
    const fail = (message: string) => {
      socket.destroy();
      reject(new NegotiationError(`${placement.nodeId} (${placement.host}:${placement.port}): ${message}`));
    };
    const timer = setTimeout(() => fail('no handshake within 10 s'), HANDSHAKE_TIMEOUT_MS);
    const onData = (chunk: Buffer) => {
      for (const event of decoder.push(chunk)) {
        const outcome = step(event);
        if (outcome === 'ready') {
          clearTimeout(timer);
          socket.off('data', onData).off('close', onClose).off('error', onError);
          socket.pause();
          const rest = decoder.rest();
          if (rest.length > 0) socket.unshift(rest);
          return resolve(socket);
        }
        if (outcome) return fail(outcome);
      }
    };
    const step = (event: ClientHandshakeEvent): string | 'ready' | null => {
      if (event.type === 'fatal') return event.message;
      if (event.type === 'greeting') {
        if (!(event.handshakeFlags & HandshakeFlag.FIXED_NEWSTYLE)) return 'server is not fixed-newstyle';
        socket.write(encodeClientFlags());
        socket.write(encodeGoOption(placement.exportName, [NbdInfo.BLOCK_SIZE]));
        return null;
      }
      if (event.type === 'option-reply' && event.option === NbdOpt.GO) {
        if (event.reply === NbdRep.ACK) return 'ready';
        if (event.reply === NbdRep.INFO) return null;
        return `export refused (reply 0x${event.reply.toString(16)}${event.data.length ? `: ${event.data.toString('utf8')}` : ''})`;
      }
      return null;
    };
    const onClose = () => fail('connection closed during the handshake');
    const onError = (err: Error) => fail(err.message);
    socket.on('data', onData).on('close', onClose).on('error', onError);
  });
}
