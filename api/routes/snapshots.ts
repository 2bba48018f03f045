// Customer API: snapshots (/v1/volumes/:id/snapshots, /v1/snapshots/:id) and snapshot policies.
import express, { Router } from 'express';
import { customerAuth, customerId } from '../auth.js';
import type { Deps } from '../use-cases/deps.js';
import { deleteSnapshotPolicy, getSnapshotPolicy, putSnapshotPolicy, SnapshotPolicyBody } from '../use-cases/snapshot-policies.js';
import { createSnapshot, deleteSnapshot, listVolumeSnapshots, requireSnapshot, snapshotView } from '../use-cases/snapshots.js';
import { handle } from './handler.js';
import { query } from './query.js';

export function snapshotRoutes(deps: Deps): Router {
  const r = Router();
  const json = express.json({ limit: '4kb' });
  r.use('/v1/snapshots', customerAuth(deps.db, deps.dataPath.requests)); // /v1/volumes is authenticated by the volume routes

  r.post(
    '/v1/volumes/:id/snapshots',
    query(),
    handle((req, res) => createSnapshot(deps, customerId(res), req.params.id!), 202),
  );
  r.get(
    '/v1/volumes/:id/snapshots',
    query(),
    handle(async (req, res) => ({ snapshots: await listVolumeSnapshots(deps, customerId(res), req.params.id!) })),
  );
  r.get(
    '/v1/snapshots/:sid',
    query(),
    handle(async (req, res) => snapshotView(await requireSnapshot(deps, customerId(res), req.params.sid!))),
  );
  r.delete(
    '/v1/snapshots/:sid',
    query(),
    handle((req, res) => deleteSnapshot(deps, customerId(res), req.params.sid!)),
  );

  r.put(
    '/v1/volumes/:id/snapshot-policy',
    query(),
    json,
    handle((req, res) => putSnapshotPolicy(deps, customerId(res), req.params.id!, SnapshotPolicyBody.parse(req.body))),
  );
  r.get(
    '/v1/volumes/:id/snapshot-policy',
    query(),
    handle((req, res) => getSnapshotPolicy(deps, customerId(res), req.params.id!)),
  );
  r.delete(
    '/v1/volumes/:id/snapshot-policy',
    query(),
    handle((req, res) => deleteSnapshotPolicy(deps, customerId(res), req.params.id!)),
  );
  return r;
}
