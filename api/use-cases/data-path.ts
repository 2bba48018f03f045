// Customer block I/O, forwarded to the volume's primary copy. A request is never failed because
// a copy is held, moving or restarting: it waits and follows the primary, the way a block
// client re-resolves its server. It fails only on bad input or when the volume is deleted or archived.
import { request as httpRequest } from 'node:http';
import { HttpError, jitteredBackoff, sleep } from '../../common/http.js';
import { nodeToken } from '../../common/tokens.js';
import { AppError } from '../errors.js';
import { getVolume, primaryOf, type ReplicaRow } from '../repositories/volumes.js';
import type { Deps } from './deps.js';
import { requireVolume } from './volumes.js';

export type IoOp = { kind: 'read'; offset: number; length: number } | { kind: 'write'; offset: number; data: Buffer };

const WATCH_MS = 2000;
const PERMANENT = new Set(['bad-range', 'bad-parameter', 'empty-body', 'bad-request']);

export async function forwardIo(deps: Deps, customerId: string, volumeId: string, op: IoOp, signal: AbortSignal): Promise<Buffer> {
  await requireVolume(deps, customerId, volumeId);
  for (let attempt = 0; ; attempt++) {
    if (signal.aborted) throw new AppError(499, 'client-closed', 'the client went away');
    const volume = await getVolume(deps.db, volumeId);
    if (!volume || volume.state === 'deleted' || volume.state === 'deleting') throw new AppError(410, 'volume-deleted', `volume ${volumeId} was deleted`);
    if (volume.state === 'archived') {
      throw new AppError(409, 'volume-archived', `volume ${volumeId} was archived to snapshot ${volume.archiveSnapshotId}; create a volume from it to read its data`);
    }
    // No copy serves a volume whose creation failed or has not finished: waiting would be forever.
    if (volume.state === 'error' || volume.state === 'creating') throw new AppError(409, 'volume-not-ready', `volume ${volumeId} is ${volume.state}`);
    const primary = await primaryOf(deps.db, volumeId);
    if (primary) {
      const attempt = new AbortController();
      const stopWatching = watchPrimary(deps, volumeId, primary, () => attempt.abort());
      try {
        const token = nodeToken(deps.config.clusterSecret, primary.nodeId);
        return await nodeIo(`${primary.nodeUrl}${ioPath(volumeId, op)}`, token, op, AbortSignal.any([signal, attempt.signal]));
      } catch (err) {
        if (err instanceof HttpError && PERMANENT.has(err.code)) throw new AppError(400, err.code, err.message);
      } finally {
        stopWatching();
      }
    }
    await sleep(jitteredBackoff(Math.min(attempt, 4), 100, 1000), signal);
  }
}

/**
 * A request held on a node that then loses power gets no reset and would wait forever. While
 * it waits, watch (through the inventory, no extra requests to the node) that the node is the
 * same process — heartbeats carry its boot id — and still the primary; if not, give up this
 * attempt so the request follows the volume.
 */
function watchPrimary(deps: Deps, volumeId: string, primary: ReplicaRow, lost: () => void): () => void {
  const timer = setInterval(() => {
    primaryOf(deps.db, volumeId).then(
      (now) => (now?.nodeId !== primary.nodeId || now.nodeBootId !== primary.nodeBootId) && lost(),
      () => undefined,
    );
  }, WATCH_MS);
  return () => clearInterval(timer);
}

function ioPath(volumeId: string, op: IoOp): string {
  const query = op.kind === 'read' ? `offset=${op.offset}&length=${op.length}` : `offset=${op.offset}`;
  return `/v1/volumes/${volumeId}/data?${query}`;
}

/** Plain node:http, with no response timeout: a held request may wait for a customer's decision. */
function nodeIo(url: string, token: string, op: IoOp, signal: AbortSignal): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, {
      method: op.kind === 'read' ? 'GET' : 'PUT',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/octet-stream' },
      signal,
    });
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => {
        const body = Buffer.concat(chunks);
        if ((res.statusCode ?? 500) < 400) return resolve(body);
        let code = `http-${res.statusCode}`;
        let message = body.toString().slice(0, 300);
        try {
          ({ code, message } = (JSON.parse(message) as { error: { code: string; message: string } }).error);
        } catch {
          // not our error shape
        }
        reject(new HttpError(res.statusCode ?? 500, code, message));
      });
    });
    req.on('error', reject);
    req.end(op.kind === 'write' ? op.data : undefined);
  });
}
