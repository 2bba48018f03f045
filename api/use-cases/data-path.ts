// Customer block I/O, forwarded to the volume's primary copy. A request is never failed because
// a copy is held, moving or restarting: it waits and follows the primary, the way a block
// client re-resolves its server. It fails only on bad input or when the volume is deleted,
// archived or never became servable. Following costs the inventory per volume, not per request
// (volume-watch.ts); what a customer may hold in flight is bounded (hold-limits.ts).
import { request as httpRequest } from 'node:http';
import { HttpError, jitteredBackoff, sleep } from '../../common/http.js';
import { nodeToken } from '../../common/tokens.js';
import { AppError } from '../errors.js';
import type { Db } from '../repositories/db.js';
import { getVolume, primaryOf, type ReplicaRow } from '../repositories/volumes.js';
import type { Deps } from './deps.js';
import type { ApiConfig } from '../config.js';
import { HoldLimits, RequestLimits } from './hold-limits.js';
import { VolumeWatch, type Route, type WatchHandle } from './volume-watch.js';
import { requireVolume } from './volumes.js';

export type IoOp = { kind: 'read'; offset: number; length: number } | { kind: 'write'; offset: number; data: Buffer };

/** How old a route a first attempt may use: the watch's own period. */
const ROUTE_MAX_AGE_MS = 2000;
const PERMANENT = new Set(['bad-range', 'bad-parameter', 'empty-body', 'bad-request']);

/** The data path's in-memory state, one per API process: the shared watches and the caps. */
export interface DataPathState {
  watch: VolumeWatch;
  holds: HoldLimits;
  requests: RequestLimits;
}

export function createDataPathState(db: Db, config: ApiConfig): DataPathState {
  const { io, retryAfterSeconds } = config;
  return {
    watch: new VolumeWatch(loadRoute(db)),
    holds: new HoldLimits(io, retryAfterSeconds),
    requests: new RequestLimits(io.perCustomerConcurrentRequests, retryAfterSeconds),
  };
}

/** What the shared per-volume watch loads: the volume's state and its primary. */
export function loadRoute(db: Db) {
  return async (volumeId: string): Promise<Route> => ({ volume: await getVolume(db, volumeId), primary: await primaryOf(db, volumeId) });
}

export async function forwardIo(deps: Deps, customerId: string, volumeId: string, op: IoOp, signal: AbortSignal): Promise<Buffer> {
  await requireVolume(deps, customerId, volumeId);
  const watch = deps.dataPath.watch.open(volumeId);
  try {
    return await follow(deps, watch, volumeId, op, signal);
  } finally {
    watch.close();
  }
}

async function follow(deps: Deps, watch: WatchHandle, volumeId: string, op: IoOp, signal: AbortSignal): Promise<Buffer> {
  let since = Date.now() - ROUTE_MAX_AGE_MS;
  for (let attempt = 0; ; attempt++) {
    if (signal.aborted) throw new AppError(499, 'client-closed', 'the client went away');
    const { volume, primary } = await watch.route(since);
    checkServable(volumeId, volume);
    if (primary) {
      const answer = await attemptOn(deps, watch, volumeId, primary, op, signal);
      if (answer) return answer;
    }
    since = Date.now();
    await sleep(jitteredBackoff(Math.min(attempt, 4), 100, 1000), signal);
  }
}

function checkServable(volumeId: string, volume: Route['volume']): void {
  if (!volume || volume.state === 'deleted' || volume.state === 'deleting')
    throw new AppError(410, 'volume-deleted', `volume ${volumeId} was deleted`);
  if (volume.state === 'archived') {
    throw new AppError(
      409,
      'volume-archived',
      `volume ${volumeId} was archived to snapshot ${volume.archiveSnapshotId}; create a volume from it to read its data`,
    );
  }
  // No copy serves a volume whose creation failed or has not finished: waiting would be forever.
  if (volume.state === 'error' || volume.state === 'creating')
    throw new AppError(409, 'volume-not-ready', `volume ${volumeId} is ${volume.state}`);
}

/** One attempt on `primary`; null when it should be retried (held copy moved, node gone...). */
async function attemptOn(
  deps: Deps,
  watch: WatchHandle,
  volumeId: string,
  primary: ReplicaRow,
  op: IoOp,
  signal: AbortSignal,
): Promise<Buffer | null> {
  const attempt = new AbortController();
  const stopWatching = watch.onLoad((now) => moved(primary, now) && attempt.abort());
  try {
    const token = nodeToken(deps.config.clusterSecret, primary.nodeId);
    return await nodeIo(`${primary.nodeUrl}${ioPath(volumeId, op)}`, token, op, AbortSignal.any([signal, attempt.signal]));
  } catch (err) {
    if (err instanceof HttpError && PERMANENT.has(err.code)) throw new AppError(400, err.code, err.message);
    return null;
  } finally {
    stopWatching();
  }
}

/**
 * A request held on a node that then loses power gets no reset and would wait forever. While
 * it waits, the volume's shared watch checks (through the inventory, no extra requests to the
 * node) that the node is the same process — heartbeats carry its boot id — and still the
 * primary, and that the volume still serves; if not, this attempt gives up so the request
 * follows the volume.
 */
function moved(primary: ReplicaRow, now: Route): boolean {
  const serving = now.volume?.state === 'available' || now.volume?.state === 'in-use';
  return !serving || now.primary?.nodeId !== primary.nodeId || now.primary.nodeBootId !== primary.nodeBootId;
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
