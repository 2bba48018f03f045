// The storage node's HTTP endpoints (storage-node/contract.ts): block I/O, review reads,
// the idempotent operations that recovery activities call, and the node-to-node replication
// endpoints, which take a volume mirror token and a protocol/replication.ts body.
import express, { type NextFunction, type Request, type Response } from 'express';
import type { z } from 'zod';
import type { Registry } from 'prom-client';
import { logger } from '../../common/log.js';
import { httpLatency, metricsHandler } from '../../common/metrics.js';
import { logOf, requestLog } from '../../common/request-log.js';
import { safeEqual, verifyGrant } from '../../common/tokens.js';
import {
  BlocksQuery,
  ConfigBody,
  ConfigQuery,
  ResumeQuery,
  CopyRangeQuery,
  CreateVolumeBody,
  EnableBody,
  IoBody,
  NODE_PATHS as P,
  type NodeHealth,
  RangeQuery,
  RebuildTargetQuery,
  RepairsBody,
  SnapshotIdParam,
  WriteQuery,
} from '../contract.js';
import { MAX_IO_BYTES } from '../protocol/block-range.js';
import { MAX_FINISH_BYTES, MAX_MESSAGE_BYTES, MessageKind, type ReplicationMessage } from '../protocol/replication.js';
import { VolumeDeletedError } from '../store/io-gate.js';
import { NodeError, type NodeService } from '../node-service.js';
import { fromVerifiedPeer, type PeerTlsMode } from './peer-tls.js';
import { authorizeReplication, replicationMessage } from './replication-auth.js';

type Handler = (req: Request, res: Response) => Promise<unknown>;

export interface NodeCredentials {
  token: string | null;
  /** The node's own mirror secret: the key of the volume mirror tokens it accepts. */
  mirrorToken: string | null;
}

/** `value` parsed by `schema`, or a 400 with `code` and the first problem. */
function parse<S extends z.ZodType>(schema: S, value: unknown, code: string): z.output<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  throw new NodeError(400, code, issue ? `${issue.path.join('.') || 'input'}: ${issue.message}` : 'invalid input');
}

type Middleware = (req: Request, res: Response, next: NextFunction) => void;

const id = (req: Request): string => req.params.id!;
const q = <S extends z.ZodType>(schema: S, req: Request): z.output<S> => parse(schema, req.query, 'bad-parameter');

export interface NodeAppOptions {
  metrics?: Registry;
  /** `require`: the replication endpoints answer only a peer that came over the TLS port with a CA certificate. */
  peerTls?: PeerTlsMode;
  /** Counts each replication request that passed authentication, by whether TLS carried it. */
  countReplication?: (tls: boolean) => void;
  /** Whether the node's agent has a recovery report on its way (the health answer's `reporting`). */
  reporting?: () => boolean;
}

export function createNodeApp(service: NodeService, credentials: () => NodeCredentials, options: NodeAppOptions = {}): express.Express {
  const { metrics } = options;
  const app = express();
  app.disable('x-powered-by');
  const log = () => logger({ nodeId: service.nodeId });
  app.use(requestLog(log));
  if (metrics) {
    app.use(httpLatency(metrics));
    app.get('/metrics', metricsHandler(metrics));
  }
  const auth: Middleware = (req, _res, next) => {
    const expected = credentials().token;
    if (!expected) return next(new NodeError(503, 'not-registered', 'node has not registered yet'));
    if (!safeEqual(bearer(req), expected)) return next(new NodeError(401, 'unauthenticated', 'a valid node token is required'));
    next();
  };
  app.get(P.health, (_req, res) => {
    const health: NodeHealth = {
      nodeId: service.nodeId,
      bootId: service.bootId,
      recovering: service.recovering,
      reporting: options.reporting?.() ?? false,
    };
    res.json(health);
  });
  mountDataPath(app, service, credentials, auth);
  mountControl(app, service, auth);
  mountReplication(app, service, credentials, options);
  app.use((_req, _res, next) => next(new NodeError(404, 'not-found', 'no such endpoint')));
  app.use((err: unknown, req: Request, res: Response, _next: NextFunction) => {
    const e = toNodeError(err);
    if (e.status >= 500 && e.code === 'internal') logOf(res, log).error({ err, method: req.method, path: req.path }, 'storage-node error');
    const retryAfter = (err as { retryAfterSeconds?: number }).retryAfterSeconds;
    if (retryAfter) res.set('retry-after', String(retryAfter));
    res.status(e.status).json({ error: { code: e.code, message: e.message } });
  });
  return app;
}

/** Block I/O with the node token, and review reads with a grant signed with it. */
function mountDataPath(app: express.Express, service: NodeService, credentials: () => NodeCredentials, auth: Middleware): void {
  const raw = express.raw({ type: () => true, limit: MAX_IO_BYTES });
  app.get(
    P.data,
    auth,
    send((req) => {
      const { offset, length } = q(RangeQuery, req);
      return service.read(id(req), offset, length);
    }),
  );
  app.put(
    P.data,
    auth,
    raw,
    send(async (req) => ({ writeSeq: await service.write(id(req), q(WriteQuery, req).offset, body(req)) })),
  );
  app.get(
    P.review,
    send(async (req) => {
      const token = credentials().token;
      if (!token) throw new NodeError(503, 'not-registered', 'node has not loaded its token yet; no grant can be checked');
      const grant = verifyGrant(req.headers.authorization?.replace(/^Grant /, '') ?? '', token, 'review');
      if (!grant || grant.volumeId !== id(req) || grant.nodeId !== service.nodeId) {
        throw new NodeError(403, 'bad-grant', 'a valid review grant for this volume on this node is required');
      }
      const { offset, length } = q(RangeQuery, req);
      return service.reviewRead(id(req), offset, length);
    }),
  );
}

/** What the control plane and the activities call, with the node token. */
function mountControl(app: express.Express, service: NodeService, auth: Middleware): void {
  const json = express.json({ limit: '64kb' });
  const repairsJson = express.json({ limit: '64mb' }); // up to ~12,000 repaired blocks in base64
  /**
   * Create and delete answer a retry with their first answer (Idempotency-Key). The other
   * mutations set a target state, so re-applying them is itself idempotent — and right after
   * a crash that reset the node's in-memory state.
   */
  const once =
    (fn: Handler): Handler =>
    (req, res) =>
      service.store.once(idempotencyKey(req), () => fn(req, res));
  app.get(
    P.scan,
    auth,
    send(() => service.scan(service.recovering)),
  );
  app.post(
    P.resumeService,
    auth,
    send((req) => service.resumeService(q(ResumeQuery, req).scannedAt)),
  );
  app.get(
    P.volume,
    auth,
    send(async (req) => service.status(id(req))),
  );
  app.put(
    P.volume,
    auth,
    json,
    send(once((req) => service.createVolume({ ...parse(CreateVolumeBody, req.body, 'bad-request'), volumeId: id(req) }))),
  );
  app.delete(P.volume, auth, send(once((req) => service.delete(id(req)))));
  app.post(
    P.config,
    auth,
    json,
    send((req) => service.configure(id(req), parse(ConfigBody, req.body, 'bad-request'), { failover: q(ConfigQuery, req).failover })),
  );
  app.post(
    P.io,
    auth,
    json,
    send((req) => service.setIo(id(req), parse(IoBody, req.body ?? {}, 'bad-io-state').state)),
  );
  app.post(
    P.enable,
    auth,
    json,
    send((req) => {
      const { epoch, peer } = parse(EnableBody, req.body, 'bad-request');
      return service.enable(id(req), epoch, peer);
    }),
  );
  app.post(
    P.restore,
    auth,
    repairsJson,
    send((req) => service.restore(id(req), parse(RepairsBody, req.body ?? {}, 'bad-repairs'))),
  );
  app.post(
    P.repair,
    auth,
    repairsJson,
    send((req) => service.repair(id(req), parse(RepairsBody, req.body ?? {}, 'bad-repairs'))),
  );
  app.get(
    P.blocks,
    auth,
    send((req) => {
      const { first, count } = q(BlocksQuery, req);
      return service.verifiedBlocks(id(req), first, count);
    }),
  );
  app.get(
    P.digest,
    auth,
    send((req) => service.digest(id(req))),
  );
  app.post(
    P.snapshot,
    auth,
    send((req) => service.snapshot(id(req), parse(SnapshotIdParam, req.params.snapshotId, 'bad-snapshot-id'))),
  );
  app.post(
    P.copyRange,
    auth,
    send((req) => {
      const { target, epoch, offset, length } = q(CopyRangeQuery, req);
      return service.copyRange(id(req), { nodeId: target, epoch }, offset, length);
    }),
  );
  app.post(
    P.finishRebuild,
    auth,
    send((req) => {
      const { target, epoch } = q(RebuildTargetQuery, req);
      return service.finishRebuild(id(req), { nodeId: target, epoch });
    }),
  );
}

/**
 * The endpoints a primary calls on its peer. The bearer is a volume mirror token: checked
 * against the volume in the path before the body is read, then against the epoch the body names.
 */
function mountReplication(app: express.Express, service: NodeService, credentials: () => NodeCredentials, options: NodeAppOptions): void {
  const mirrorAuth: Middleware = (req, res, next) => {
    try {
      const tls = fromVerifiedPeer(req.socket);
      const caller = { secret: credentials().mirrorToken, volumeId: req.params.id!, token: bearer(req), tls, mode: options.peerTls };
      res.locals.mirrorEpoch = authorizeReplication(caller);
      options.countReplication?.(tls);
      next();
    } catch (err) {
      next(err);
    }
  };
  const message =
    <K extends MessageKind>(kind: K) =>
    (req: Request, res: Response): Extract<ReplicationMessage, { kind: K }> =>
      replicationMessage(kind, req.params.id!, Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0), res.locals.mirrorEpoch as number);
  const mirror = message(MessageKind.Mirror);
  const range = message(MessageKind.RebuildRange);
  const finish = message(MessageKind.RebuildFinish);
  const binary = (limit: number) => express.raw({ type: () => true, limit });

  app.put(
    P.mirror,
    mirrorAuth,
    binary(MAX_MESSAGE_BYTES),
    send(async (req, res) => {
      const m = mirror(req, res);
      return { writeSeq: await service.applyMirror(m.volumeId, m.epoch, m.writes) };
    }),
  );
  app.put(
    P.rebuildRange,
    mirrorAuth,
    binary(MAX_MESSAGE_BYTES),
    send(async (req, res) => {
      const m = range(req, res);
      await service.applyRebuildRange(m.volumeId, m.epoch, m.offset, m.payload, m.crcs);
      return { ok: true };
    }),
  );
  app.post(
    P.rebuildFinish,
    mirrorAuth,
    binary(MAX_FINISH_BYTES),
    send((req, res) => service.completeRebuild(req.params.id!, finish(req, res))),
  );
}

/** Answers the handler's result: bytes as octet-stream, anything else as JSON. */
function send(fn: (req: Request, res: Response) => unknown) {
  return (req: Request, res: Response, next: NextFunction) => {
    Promise.resolve()
      .then(() => fn(req, res))
      .then((body) => {
        if (res.headersSent) return;
        if (Buffer.isBuffer(body)) res.type('application/octet-stream').send(body);
        else res.json(body);
      }, next);
  };
}

function bearer(req: Request): string {
  return req.headers.authorization?.replace(/^Bearer /, '') ?? '';
}

export function toNodeError(err: unknown): NodeError {
  if (err instanceof NodeError) return err;
  if (err instanceof VolumeDeletedError) return new NodeError(410, 'volume-deleted', err.message);
  const status = (err as { status?: number }).status;
  if (status && status >= 400 && status < 500) return new NodeError(status, 'bad-request', (err as Error).message);
  return new NodeError(500, 'internal', (err as Error)?.message ?? String(err));
}

function body(req: Request): Buffer {
  if (!Buffer.isBuffer(req.body) || req.body.length === 0) throw new NodeError(400, 'empty-body', 'a non-empty binary body is required');
  return req.body;
}

function idempotencyKey(req: Request): string | undefined {
  const key = req.headers['idempotency-key'];
  return typeof key === 'string' && key.length > 0 ? `${req.method} ${req.path} ${key}` : undefined;
}
