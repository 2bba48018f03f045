// Customer API: /v1/volumes
import express, { Router } from 'express';
import { MAX_IO_BYTES } from '../../storage-node/protocol/block-range.js';
import { customerAuth, customerId } from '../auth.js';
import { AppError } from '../errors.js';
import { AttachBody, attachVolume } from '../use-cases/attachments.js';
import type { Deps } from '../use-cases/deps.js';
import { forwardIo } from '../use-cases/data-path.js';
import {
  CreateVolumeBody, PatchVolumeBody, createVolume, deleteCustomerVolume, enableIo, listCustomerVolumes, requireVolume, reviewDecision, reviewGrant,
  updateVolume, volumeStatus, volumeView,
} from '../use-cases/volumes.js';
import { clientGone, handle } from './handler.js';

export function volumeRoutes(deps: Deps): Router {
  const r = Router();
  const json = express.json({ limit: '16kb' });
  const raw = express.raw({ type: () => true, limit: MAX_IO_BYTES });
  r.use('/v1/volumes', customerAuth(deps.db));

  r.post('/v1/volumes', json, handle((req, res) => createVolume(deps, customerId(res), CreateVolumeBody.parse(req.body)), 201));
  r.get('/v1/volumes', handle(async (_req, res) => ({ volumes: await listCustomerVolumes(deps, customerId(res)) })));
  r.get('/v1/volumes/:id', handle(async (req, res) => volumeView(await requireVolume(deps, customerId(res), req.params.id!))));
  r.patch('/v1/volumes/:id', json, handle((req, res) => updateVolume(deps, customerId(res), req.params.id!, PatchVolumeBody.parse(req.body))));
  r.get('/v1/volumes/:id/status', handle((req, res) => volumeStatus(deps, customerId(res), req.params.id!)));
  r.post('/v1/volumes/:id/enable-io', handle((req, res) => enableIo(deps, customerId(res), req.params.id!)));
  r.post('/v1/volumes/:id/archive', handle((req, res) => reviewDecision(deps, customerId(res), req.params.id!, 'archive')));
  r.post('/v1/volumes/:id/transfer', handle((req, res) => reviewDecision(deps, customerId(res), req.params.id!, 'transfer')));
  r.delete('/v1/volumes/:id', handle((req, res) => deleteCustomerVolume(deps, customerId(res), req.params.id!), 202));
  r.post('/v1/volumes/:id/attachments', json, handle((req, res) => attachVolume(deps, customerId(res), req.params.id!, AttachBody.parse(req.body ?? {})), 201));
  r.post('/v1/volumes/:id/review-grants', handle((req, res) => reviewGrant(deps, customerId(res), req.params.id!), 201));
  r.get('/v1/volumes/:id/data', handle((req, res) =>
    forwardIo(deps, customerId(res), req.params.id!, { kind: 'read', offset: int(req.query.offset, 'offset'), length: int(req.query.length, 'length') }, clientGone(req, res)),
  ));
  r.put('/v1/volumes/:id/data', raw, handle(async (req, res) => {
    if (!Buffer.isBuffer(req.body) || req.body.length === 0) throw new AppError(400, 'empty-body', 'a non-empty binary body is required');
    const answer = await forwardIo(deps, customerId(res), req.params.id!, { kind: 'write', offset: int(req.query.offset, 'offset'), data: req.body }, clientGone(req, res));
    return JSON.parse(answer.toString()) as unknown;
  }));
  return r;
}

function int(value: unknown, name: string): number {
  if (typeof value !== 'string' || !/^\d{1,15}$/.test(value)) throw new AppError(400, 'bad-parameter', `${name} must be a non-negative integer`);
  return Number(value);
}
