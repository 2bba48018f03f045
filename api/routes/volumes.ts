// Customer API: /v1/volumes
import express, { Router } from 'express';
import { z } from 'zod';
import { MAX_IO_BYTES } from '../../storage-node/protocol/block-range.js';
import { customerAuth, customerId } from '../auth.js';
import { AppError } from '../errors.js';
import { AttachBody, attachVolume } from '../use-cases/attachments.js';
import type { Deps } from '../use-cases/deps.js';
import { forwardIo } from '../use-cases/data-path.js';
import {
  CreateVolumeBody,
  PatchVolumeBody,
  createVolume,
  deleteCustomerVolume,
  enableIo,
  listCustomerVolumes,
  requireVolume,
  reviewDecision,
  reviewGrant,
  updateVolume,
  volumeStatus,
  volumeView,
} from '../use-cases/volumes.js';
import { clientGone, handle } from './handler.js';
import { holdIo } from './io-holds.js';
import { Count, parsedQuery, query } from './query.js';

export const ReadQuery = z.strictObject({ offset: Count, length: Count });
export const WriteQuery = z.strictObject({ offset: Count });

export function volumeRoutes(deps: Deps): Router {
  const r = Router();
  const json = express.json({ limit: '16kb' });
  const raw = express.raw({ type: () => true, limit: MAX_IO_BYTES });
  r.use('/v1/volumes', customerAuth(deps.db, deps.dataPath.requests));

  r.post(
    '/v1/volumes',
    query(),
    json,
    handle((req, res) => createVolume(deps, customerId(res), CreateVolumeBody.parse(req.body)), 201),
  );
  r.get(
    '/v1/volumes',
    query(),
    handle(async (_req, res) => ({ volumes: await listCustomerVolumes(deps, customerId(res)) })),
  );
  r.get(
    '/v1/volumes/:id',
    query(),
    handle(async (req, res) => volumeView(await requireVolume(deps, customerId(res), req.params.id!))),
  );
  r.patch(
    '/v1/volumes/:id',
    query(),
    json,
    handle((req, res) => updateVolume(deps, customerId(res), req.params.id!, PatchVolumeBody.parse(req.body))),
  );
  r.get(
    '/v1/volumes/:id/status',
    query(),
    handle((req, res) => volumeStatus(deps, customerId(res), req.params.id!)),
  );
  r.post(
    '/v1/volumes/:id/enable-io',
    query(),
    handle((req, res) => enableIo(deps, customerId(res), req.params.id!)),
  );
  r.post(
    '/v1/volumes/:id/archive',
    query(),
    handle((req, res) => reviewDecision(deps, customerId(res), req.params.id!, 'archive')),
  );
  r.post(
    '/v1/volumes/:id/transfer',
    query(),
    handle((req, res) => reviewDecision(deps, customerId(res), req.params.id!, 'transfer')),
  );
  r.delete(
    '/v1/volumes/:id',
    query(),
    handle((req, res) => deleteCustomerVolume(deps, customerId(res), req.params.id!), 202),
  );
  r.post(
    '/v1/volumes/:id/attachments',
    json,
    handle((req, res) => attachVolume(deps, customerId(res), req.params.id!, AttachBody.parse(req.body ?? {})), 201),
  );
  r.post(
    '/v1/volumes/:id/review-grants',
    query(),
    handle((req, res) => reviewGrant(deps, customerId(res), req.params.id!), 201),
  );
  r.get(
    '/v1/volumes/:id/data',
    query(ReadQuery),
    holdIo(deps.dataPath.holds, 'read'),
    handle((req, res) => {
      const { offset, length } = parsedQuery<z.infer<typeof ReadQuery>>(res);
      return forwardIo(deps, customerId(res), req.params.id!, { kind: 'read', offset, length }, clientGone(req, res));
    }),
  );
  r.put(
    '/v1/volumes/:id/data',
    query(WriteQuery),
    holdIo(deps.dataPath.holds, 'write'),
    raw,
    handle(async (req, res) => {
      if (!Buffer.isBuffer(req.body) || req.body.length === 0) throw new AppError(400, 'empty-body', 'a non-empty binary body is required');
      const { offset } = parsedQuery<z.infer<typeof WriteQuery>>(res);
      const answer = await forwardIo(
        deps,
        customerId(res),
        req.params.id!,
        { kind: 'write', offset, data: req.body },
        clientGone(req, res),
      );
      return JSON.parse(answer.toString()) as unknown;
    }),
  );
  return r;
}
