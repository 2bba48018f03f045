// The storage node's HTTP endpoints: block I/O, mirroring, review reads, and the
// idempotent operations that recovery activities call.
import express, { type NextFunction, type Request, type Response } from 'express';
import { safeEqual, verifyGrant } from '../../common/tokens.js';
import { BLOCK_SIZE } from '../../common/types.js';
import { MAX_IO_BYTES } from '../protocol/block-range.js';
import { VolumeDeletedError } from '../store/io-gate.js';
import { NodeError, type NodeService } from '../node-service.js';

type Handler = (req: Request, res: Response) => Promise<unknown>;

export interface NodeCredentials {
  token: string | null;
  mirrorToken: string | null;
}

export function createNodeApp(service: NodeService, credentials: () => NodeCredentials): express.Express {
  const app = express();
  app.disable('x-powered-by');
  const json = express.json({ limit: '64kb' });
  const raw = express.raw({ type: () => true, limit: MAX_IO_BYTES });

  const bearer = (kind: keyof NodeCredentials) => (req: Request, _res: Response, next: NextFunction): void => {
    const expected = credentials()[kind];
    const given = req.headers.authorization?.replace(/^Bearer /, '') ?? '';
    if (!expected) return next(new NodeError(503, 'not-registered', 'node has not registered yet'));
    if (!safeEqual(given, expected)) return next(new NodeError(401, 'unauthenticated', `a valid ${kind === 'token' ? 'node' : 'mirror'} token is required`));
    next();
  };
  const auth = bearer('token');
  const token = () => credentials().token;
  /**
   * Create and delete answer a retry with their first answer (Idempotency-Key). The other
   * mutations set a target state, so re-applying them is itself idempotent — and right after
   * a crash that reset the node's in-memory state.
   */
  const once = (fn: Handler): Handler => (req, res) => service.store.once(idempotencyKey(req), () => fn(req, res));
  const send = (fn: Handler) => (req: Request, res: Response, next: NextFunction) => {
    fn(req, res).then((body) => {
      if (res.headersSent) return;
      if (Buffer.isBuffer(body)) res.type('application/octet-stream').send(body);
      else res.json(body);
    }, next);
  };
  const id = (req: Request): string => req.params.id!;

  app.get('/v1/health', (_req, res) => res.json({ nodeId: service.nodeId, bootId: service.bootId, recovering: service.recovering }));
  app.get('/v1/scan', auth, send(() => service.scan(service.recovering)));
  app.get('/v1/volumes/:id', auth, send(async (req) => service.status(id(req))));
  app.put('/v1/volumes/:id', auth, json, send(once((req) => service.createVolume({ ...req.body, volumeId: id(req) }))));
  app.get('/v1/volumes/:id/data', auth, send((req) => service.read(id(req), int(req, 'offset'), int(req, 'length'))));
  app.put('/v1/volumes/:id/data', auth, raw, send(async (req) => ({ writeSeq: await service.write(id(req), int(req, 'offset'), body(req)) })));
  app.put('/v1/volumes/:id/mirror', bearer('mirrorToken'), raw, send(async (req) => ({
    writeSeq: await service.applyMirror(id(req), int(req, 'epoch'), int(req, 'seq'), int(req, 'offset'), body(req)),
  })));
  app.get('/v1/volumes/:id/review', send(async (req) => {
    if (!token()) throw new NodeError(503, 'not-registered', 'node has not loaded its token yet; no grant can be checked');
    const grant = verifyGrant(req.headers.authorization?.replace(/^Grant /, '') ?? '', token(), 'review');
    if (!grant || grant.volumeId !== id(req) || grant.nodeId !== service.nodeId) {
      throw new NodeError(403, 'bad-grant', 'a valid review grant for this volume on this node is required');
    }
    return service.reviewRead(id(req), int(req, 'offset'), int(req, 'length'));
  }));
  app.post('/v1/volumes/:id/config', auth, json, send((req) => service.configure(id(req), req.body, req.query.failover === '1')));
  app.post('/v1/volumes/:id/io', auth, json, send((req) => service.setIo(id(req), ioState(req.body?.state))));
  const repairsJson = express.json({ limit: '64mb' }); // up to ~12,000 repaired blocks in base64
  app.post('/v1/volumes/:id/restore', auth, repairsJson, send((req) => service.restore(id(req), repairs(req.body?.repairs))));
  app.post('/v1/volumes/:id/repair', auth, repairsJson, send((req) => service.repair(id(req), repairs(req.body?.repairs))));
  app.get('/v1/volumes/:id/blocks', auth, send((req) => service.verifiedBlocks(id(req), int(req, 'first'), int(req, 'count'))));
  app.post('/v1/volumes/:id/snapshots/:snapshotId', auth, send((req) => service.snapshot(id(req), snapshotId(req))));
  app.post('/v1/volumes/:id/rebuild/copy', auth, send((req) => service.copyRange(id(req), rebuildTarget(req), int(req, 'offset'), int(req, 'length'))));
  app.post('/v1/volumes/:id/rebuild/finish-peer', auth, send((req) => service.finishRebuild(id(req), rebuildTarget(req))));
  app.put('/v1/volumes/:id/rebuild', bearer('mirrorToken'), raw, send(async (req) => {
    await service.applyRebuildRange(id(req), int(req, 'epoch'), int(req, 'offset'), body(req), blockCrcs(req));
    return { ok: true };
  }));
  app.post('/v1/volumes/:id/rebuild/finish', bearer('mirrorToken'), json, send((req) => service.completeRebuild(id(req), rebuildFinish(req.body))));
  app.post('/v1/volumes/:id/enable', auth, json, send((req) => service.enable(id(req), Number(req.body?.epoch), req.body?.peer ?? null)));
  app.get('/v1/volumes/:id/digest', auth, send((req) => service.digest(id(req))));
  app.delete('/v1/volumes/:id', auth, send(once((req) => service.delete(id(req)))));
  app.post('/v1/service/resume', auth, send(() => service.resumeService()));

  app.use((_req, _res, next) => next(new NodeError(404, 'not-found', 'no such endpoint')));
  app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    const e = toNodeError(err);
    if (e.status >= 500 && e.code === 'internal') console.error('storage-node error', err);
    res.status(e.status).json({ error: { code: e.code, message: e.message } });
  });
  return app;
}

function toNodeError(err: unknown): NodeError {
  if (err instanceof NodeError) return err;
  if (err instanceof VolumeDeletedError) return new NodeError(410, 'volume-deleted', err.message);
  const status = (err as { status?: number }).status;
  if (status && status >= 400 && status < 500) return new NodeError(status, 'bad-request', (err as Error).message);
  return new NodeError(500, 'internal', (err as Error)?.message ?? String(err));
}

function int(req: Request, name: string): number {
  const text = req.query[name];
  const value = typeof text === 'string' && /^\d+$/.test(text) ? Number(text) : NaN;
  if (!Number.isSafeInteger(value)) throw new NodeError(400, 'bad-parameter', `query parameter ${name} must be a non-negative integer`);
  return value;
}

function body(req: Request): Buffer {
  if (!Buffer.isBuffer(req.body) || req.body.length === 0) throw new NodeError(400, 'empty-body', 'a non-empty binary body is required');
  return req.body;
}

function ioState(value: unknown): 'enabled' | 'paused' {
  if (value === 'enabled' || value === 'paused') return value;
  throw new NodeError(400, 'bad-io-state', 'state must be "enabled" or "paused"');
}

function blockCrcs(req: Request): Uint32Array {
  const header = req.headers['x-block-crcs'];
  const bytes = typeof header === 'string' ? Buffer.from(header, 'base64') : Buffer.alloc(0);
  if (bytes.length === 0 || bytes.length % 4 !== 0) throw new NodeError(400, 'bad-rebuild-range', 'x-block-crcs must carry one CRC32C per block');
  return new Uint32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length));
}

function rebuildTarget(req: Request): { nodeId: string; epoch: number } {
  const nodeId = req.query.target;
  if (typeof nodeId !== 'string' || nodeId.length === 0) throw new NodeError(400, 'bad-parameter', 'query parameter target must name the node being rebuilt');
  return { nodeId, epoch: int(req, 'epoch') };
}

function snapshotId(req: Request): string {
  const value = req.params.snapshotId!;
  if (!/^[\w-]{1,80}$/.test(value)) throw new NodeError(400, 'bad-snapshot-id', 'snapshot ids are 1-80 letters, digits, _ or -');
  return value;
}

function repairs(value: unknown): Map<number, Buffer> {
  const out = new Map<number, Buffer>();
  if (value === undefined) return out;
  if (!Array.isArray(value)) throw new NodeError(400, 'bad-repairs', 'repairs must be a list of {block, data}');
  for (const r of value as { block?: unknown; data?: unknown }[]) {
    const data = typeof r?.data === 'string' ? Buffer.from(r.data, 'base64') : null;
    if (!Number.isSafeInteger(r?.block) || (r.block as number) < 0 || data?.length !== BLOCK_SIZE) {
      throw new NodeError(400, 'bad-repairs', `each repair needs a block index and ${BLOCK_SIZE} bytes of base64 data`);
    }
    out.set(r.block as number, data);
  }
  return out;
}

function rebuildFinish(value: unknown): { epoch: number; writeSeq: number; dirty: string; baseSnapshotId: string | null } {
  const v = value as Record<string, unknown> | undefined;
  const ok = v && Number.isSafeInteger(v.epoch) && Number.isSafeInteger(v.writeSeq) && typeof v.dirty === 'string' &&
    (v.baseSnapshotId === null || typeof v.baseSnapshotId === 'string');
  if (!ok) throw new NodeError(400, 'bad-rebuild', 'epoch, writeSeq, dirty (base64) and baseSnapshotId are required');
  return v as unknown as { epoch: number; writeSeq: number; dirty: string; baseSnapshotId: string | null };
}

function idempotencyKey(req: Request): string | undefined {
  const key = req.headers['idempotency-key'];
  return typeof key === 'string' && key.length > 0 ? `${req.method} ${req.path} ${key}` : undefined;
}
