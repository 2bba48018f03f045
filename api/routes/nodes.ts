// Node API: /v1/nodes — registration (join token), heartbeats and recovery reports (node token).
import express, { Router } from 'express';
import { joinAuth, nodeAuth } from '../auth.js';
import type { Deps } from '../use-cases/deps.js';
import { HeartbeatBody, RegisterBody, ScanReportBody, admitReport, heartbeat, registerNode } from '../use-cases/nodes.js';
import { PeerDropBody, requestPeerDrop } from '../use-cases/peer-drops.js';
import { handle } from './handler.js';
import { query } from './query.js';

export function nodeRoutes(deps: Deps): Router {
  const r = Router();
  const json = express.json({ limit: '8mb' });
  const asNode = nodeAuth(deps.config.clusterSecret);
  r.post(
    '/v1/nodes/register',
    joinAuth(deps.config.clusterSecret),
    json,
    handle((req) =>
      registerNode(deps, RegisterBody.parse(req.body), {
        nodeToken: req.header('x-node-token'),
        registrationKey: req.header('x-node-registration-key'),
      }),
    ),
  );
  r.post(
    '/v1/nodes/:nodeId/heartbeat',
    asNode,
    query(),
    json,
    handle((req) => heartbeat(deps, req.params.nodeId!, HeartbeatBody.parse(req.body))),
  );
  r.post(
    '/v1/nodes/:nodeId/recovery-reports',
    asNode,
    query(),
    json,
    handle((req) => admitReport(deps, req.params.nodeId!, ScanReportBody.parse(req.body)), 202),
  );
  r.post(
    '/v1/nodes/:nodeId/peer-drops',
    asNode,
    query(),
    json,
    handle((req) => requestPeerDrop(deps, req.params.nodeId!, PeerDropBody.parse(req.body)), 202),
  );
  return r;
}
