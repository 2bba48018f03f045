// What an NBD export is on a storage node: a signed grant (the export name) for one volume
// hosted here, and the commands run against it through the node's service — never around it,
// so writes stay held while paused, mirrored, epoch-fenced, checksummed and dirty-tracked.
import { logger } from '../../common/log.js';
import { verifyGrant, type GrantAccess } from '../../common/tokens.js';
import { MAX_IO_BYTES } from '../protocol/block-range.js';
import { CmdFlag, NbdCmd, NbdErrno, TransmissionFlag, joinChunks, type BlockSizes } from '../protocol/nbd.js';
import type { CommandResult, NbdCommand, NbdExport, NbdExports } from './nbd-server.js';
import { TooManyHeldError, VolumeDeletedError } from '../store/io-gate.js';
import { NodeError, type NodeService } from '../node-service.js';

/** The part of the node's service the NBD server uses (a test may pass a fake). */
export type NbdBackend = Pick<NodeService, 'nodeId' | 'hosted' | 'read' | 'write' | 'reviewRead' | 'flush'>;

export interface GrantExport extends NbdExport {
  volumeId: string;
  access: GrantAccess;
}

export const BLOCK_SIZES: BlockSizes = { min: 1, preferred: 4096, max: MAX_IO_BYTES };

/**
 * CAN_MULTI_CONN is safe: every connection to a volume on this node goes through the same
 * Volume (one set of file handles, no per-connection cache) and the same IoGate, which runs
 * the volume's writes in order; a write is in the file before it is answered, and FLUSH
 * (and FUA) fdatasync the volume's files, so they cover every write answered on any connection.
 */
const IO_FLAGS =
  TransmissionFlag.HAS_FLAGS |
  TransmissionFlag.SEND_FLUSH |
  TransmissionFlag.SEND_FUA |
  TransmissionFlag.SEND_TRIM |
  TransmissionFlag.SEND_WRITE_ZEROES |
  TransmissionFlag.CAN_MULTI_CONN;
const REVIEW_FLAGS =
  TransmissionFlag.HAS_FLAGS | TransmissionFlag.READ_ONLY | TransmissionFlag.SEND_FLUSH | TransmissionFlag.CAN_MULTI_CONN;

/**
 * Connections one volume may have open on a node. With each connection's own bound (256
 * requests, 64 MiB) this bounds what a volume's NBD clients can hold on the node, below the
 * I/O gate's hold bound, so a held NBD request is never refused by it.
 */
export const MAX_CONNECTIONS_PER_VOLUME = 8;

/**
 * A node's exports: one per grant. Names are secrets (signed grants), so LIST answers none.
 * `token` is the node's, null until it registered; `fsyncWrites`: writes already fdatasync
 * (NODE_FSYNC), so FUA needs no extra sync.
 */
export function grantExports(backend: NbdBackend, token: () => string | null, fsyncWrites: boolean): NbdExports<GrantExport> {
  const connections = new Map<string, number>();
  return {
    open(name, transmit) {
      const exp = resolveExport(backend, token(), name);
      if (!exp || !transmit) return exp;
      const open = connections.get(exp.volumeId) ?? 0;
      if (open >= MAX_CONNECTIONS_PER_VOLUME) return null;
      connections.set(exp.volumeId, open + 1);
      return exp;
    },
    closed(exp) {
      const left = (connections.get(exp.volumeId) ?? 1) - 1;
      if (left > 0) connections.set(exp.volumeId, left);
      else connections.delete(exp.volumeId);
    },
    list: () => [],
    blockSizes: BLOCK_SIZES,
    run: (exp, req) => runCommand(backend, exp, req, fsyncWrites),
  };
}

/**
 * The export `name` opens, or null: no token loaded yet, a bad or expired grant, a grant for
 * another node, a volume not hosted here, or (for I/O) a copy that is not the primary.
 */
export function resolveExport(backend: NbdBackend, token: string | null, name: string, now = Date.now()): GrantExport | null {
  if (!token) return null;
  const grant = verifyGrant(name, token, 'io', now) ?? verifyGrant(name, token, 'review', now);
  if (!grant || grant.nodeId !== backend.nodeId) return null;
  let meta;
  try {
    meta = backend.hosted(grant.volumeId).volume.meta;
  } catch {
    return null;
  }
  if (grant.access === 'io' && meta.role !== 'primary') return null;
  const flags = grant.access === 'io' ? IO_FLAGS : REVIEW_FLAGS;
  return { volumeId: grant.volumeId, access: grant.access, size: meta.sizeBytes, flags };
}

const ZEROES = Buffer.alloc(MAX_IO_BYTES);
const OK: CommandResult = { errno: NbdErrno.OK };

/**
 * Runs one decoded request (already checked against the export's size). A failover, a volume
 * moved away or deleted closes the connection, so the client's side reconnects to the new
 * primary with its requests still held; any other failure is EIO on this request.
 */
export async function runCommand(backend: NbdBackend, exp: GrantExport, req: NbdCommand, fsyncWrites: boolean): Promise<CommandResult> {
  try {
    return await dispatch(backend, exp, req, fsyncWrites);
  } catch (err) {
    if (movedAway(err)) return 'close';
    if (err instanceof NodeError && err.code === 'bad-range') return { errno: NbdErrno.EINVAL };
    logger({ component: 'nbd', volumeId: exp.volumeId }).warn(
      { err, command: req.command, offset: req.offset, length: req.length },
      `nbd: ${exp.volumeId} command ${req.command} at ${req.offset}+${req.length} failed`,
    );
    return { errno: NbdErrno.EIO };
  }
}

/** Also a full hold: the client's side re-sends its requests after reconnecting, so none is failed. */
function movedAway(err: unknown): boolean {
  return (
    err instanceof VolumeDeletedError ||
    err instanceof TooManyHeldError ||
    (err instanceof NodeError && (err.code === 'not-primary' || err.code === 'volume-not-found'))
  );
}

async function dispatch(backend: NbdBackend, exp: GrantExport, req: NbdCommand, fsyncWrites: boolean): Promise<CommandResult> {
  const writes = req.command === NbdCmd.WRITE || req.command === NbdCmd.TRIM || req.command === NbdCmd.WRITE_ZEROES;
  if (writes && exp.access !== 'io') return { errno: NbdErrno.EPERM };
  switch (req.command) {
    case NbdCmd.READ:
      return { errno: NbdErrno.OK, data: [await read(backend, exp, req)] };
    case NbdCmd.WRITE:
      if (req.length > 0) await backend.write(exp.volumeId, req.offset, joinChunks(req.payload!));
      return durable(backend, exp, req, fsyncWrites);
    case NbdCmd.TRIM:
    case NbdCmd.WRITE_ZEROES:
      if (req.flags & CmdFlag.FAST_ZERO) return { errno: NbdErrno.EINVAL }; // SEND_FAST_ZERO is not offered
      await writeZeroes(backend, exp.volumeId, req.offset, req.length);
      return durable(backend, exp, req, fsyncWrites);
    case NbdCmd.FLUSH:
      await backend.flush(exp.volumeId);
      return OK;
    default:
      return { errno: NbdErrno.EINVAL }; // CACHE, BLOCK_STATUS: not offered
  }
}

async function read(backend: NbdBackend, exp: GrantExport, req: NbdCommand): Promise<Buffer> {
  if (req.length === 0) return Buffer.alloc(0);
  return exp.access === 'io'
    ? backend.read(exp.volumeId, req.offset, req.length)
    : backend.reviewRead(exp.volumeId, req.offset, req.length);
}

/** FUA: the write is durable before it is answered (writes already fdatasync when NODE_FSYNC is on). */
async function durable(backend: NbdBackend, exp: GrantExport, req: NbdCommand, fsyncWrites: boolean): Promise<CommandResult> {
  if (req.flags & CmdFlag.FUA && !fsyncWrites) await backend.flush(exp.volumeId);
  return OK;
}

/** TRIM and WRITE_ZEROES are writes of zeroes, in pieces the write path accepts, so they are mirrored and sequenced. */
async function writeZeroes(backend: NbdBackend, volumeId: string, offset: number, length: number): Promise<void> {
  for (let done = 0; done < length; done += MAX_IO_BYTES) {
    await backend.write(volumeId, offset + done, ZEROES.subarray(0, Math.min(MAX_IO_BYTES, length - done)));
  }
}
