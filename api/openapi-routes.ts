// Every HTTP route of the API in one table: its auth, the zod schemas that validate its input
// (the same ones the route files parse with) and its answers. The OpenAPI document is built from
// it (openapi.ts), and a test fails when the express app has a route this table lacks.
import type { z } from 'zod';
import { EventFeedQuery, WebhookBody } from './use-cases/notifications.js';
import { HeartbeatBody, RegisterBody, ScanReportBody } from './use-cases/nodes.js';
import { CreateCustomerBody, ThrottleBody } from './use-cases/operator.js';
import { QuotaBody } from './use-cases/quotas.js';
import { SnapshotPolicyBody } from './use-cases/snapshot-policies.js';
import { AttachBody } from './use-cases/attachments.js';
import { PeerDropBody } from './use-cases/peer-drops.js';
import { CreateVolumeBody, PatchVolumeBody } from './use-cases/volumes.js';
import { HealthQuery, RecoveriesQuery } from './routes/operator.js';
import { WorkflowsQuery } from './routes/operator-views.js';
import { ReadQuery, WriteQuery } from './routes/volumes.js';
import * as R from './openapi-responses.js';

export type Auth = 'customer' | 'operator' | 'node' | 'join' | 'none';
export type Body = z.ZodType | 'binary' | 'html' | 'text' | 'json';

export interface ApiRoute {
  method: 'get' | 'post' | 'put' | 'patch' | 'delete';
  /** Express form: /v1/volumes/:id */
  path: string;
  auth: Auth;
  tag: string;
  summary: string;
  query?: z.ZodType;
  body?: Body;
  ok: { status: number; body: Body; description?: string };
  /** Error statuses worth naming; any other is the default error answer. */
  errors?: number[];
}

type Spec = Omit<ApiRoute, 'method' | 'path' | 'auth' | 'tag'>;
const route =
  (tag: string, auth: Auth) =>
  (method: ApiRoute['method'], path: string, spec: Spec): ApiRoute => ({ method, path, auth, tag, ...spec });

const customer = route('Volumes', 'customer');
const snapshots = route('Snapshots', 'customer');
const notify = route('Notifications', 'customer');
const operator = route('Operator', 'operator');
const node = route('Storage nodes', 'node');
const meta = route('Service', 'none');

const VOLUME_ROUTES: ApiRoute[] = [
  customer('post', '/v1/volumes', {
    summary: 'Create a volume (placed across two power domains), or one from a snapshot',
    body: CreateVolumeBody,
    ok: { status: 201, body: R.VolumeView },
    errors: [400, 403, 409, 503],
  }),
  customer('get', '/v1/volumes', { summary: 'List your volumes', ok: { status: 200, body: R.VolumeList } }),
  customer('get', '/v1/volumes/:id', { summary: 'Describe a volume', ok: { status: 200, body: R.VolumeView }, errors: [404] }),
  customer('patch', '/v1/volumes/:id', {
    summary: 'Set autoEnableIo',
    body: PatchVolumeBody,
    ok: { status: 200, body: R.VolumeView },
    errors: [404],
  }),
  customer('delete', '/v1/volumes/:id', {
    summary: 'Delete a volume (while it awaits review: the delete decision)',
    ok: { status: 202, body: R.DeleteVolumeResult },
    errors: [404, 409],
  }),
  customer('get', '/v1/volumes/:id/status', {
    summary: 'Volume status in the shape of EBS DescribeVolumeStatus',
    ok: { status: 200, body: R.VolumeStatusView },
    errors: [404],
  }),
  customer('post', '/v1/volumes/:id/enable-io', {
    summary: 'Enable I/O after a recovery (idempotent)',
    ok: { status: 200, body: R.EnableIoResult },
    errors: [404, 409],
  }),
  customer('post', '/v1/volumes/:id/archive', {
    summary: 'Decision: archive to the snapshot store, delete the copies',
    ok: { status: 200, body: R.DecisionResultView },
    errors: [404, 409],
  }),
  customer('post', '/v1/volumes/:id/transfer', {
    summary: 'Decision: move the copy to another zone and enable I/O there',
    ok: { status: 200, body: R.DecisionResultView },
    errors: [404, 409],
  }),
  customer('post', '/v1/volumes/:id/attachments', {
    summary: 'Where the primary serves NBD, with a grant',
    body: AttachBody,
    ok: { status: 201, body: R.AttachmentView },
    errors: [404, 409, 410],
  }),
  customer('post', '/v1/volumes/:id/review-grants', {
    summary: 'A grant to read the restored copy from its node',
    ok: { status: 201, body: R.ReviewGrantView },
    errors: [404, 409],
  }),
  customer('get', '/v1/volumes/:id/review-data', {
    summary: 'Read the restored copy through a review grant (read-only; works while I/O is held)',
    query: ReadQuery,
    ok: { status: 200, body: 'binary' },
    errors: [404, 409],
  }),
  customer('get', '/v1/volumes/:id/data', {
    summary: 'Read bytes (held while I/O is paused)',
    query: ReadQuery,
    ok: { status: 200, body: 'binary' },
    errors: [404, 409, 410, 429],
  }),
  customer('put', '/v1/volumes/:id/data', {
    summary: 'Write bytes (held while I/O is paused)',
    query: WriteQuery,
    body: 'binary',
    ok: { status: 200, body: R.WriteResult },
    errors: [404, 409, 410, 413, 429],
  }),
];

const SNAPSHOT_ROUTES: ApiRoute[] = [
  snapshots('post', '/v1/volumes/:id/snapshots', {
    summary: 'Take a snapshot (under review: of the restored copy)',
    ok: { status: 202, body: R.SnapshotView },
    errors: [403, 404, 409],
  }),
  snapshots('get', '/v1/volumes/:id/snapshots', {
    summary: "A volume's snapshots",
    ok: { status: 200, body: R.SnapshotList },
    errors: [404],
  }),
  snapshots('get', '/v1/snapshots/:sid', { summary: 'Describe a snapshot', ok: { status: 200, body: R.SnapshotView }, errors: [404] }),
  snapshots('delete', '/v1/snapshots/:sid', {
    summary: 'Delete a snapshot',
    ok: { status: 200, body: R.SnapshotDeleted },
    errors: [404, 409],
  }),
  snapshots('put', '/v1/volumes/:id/snapshot-policy', {
    summary: 'Create or replace the snapshot policy',
    body: SnapshotPolicyBody,
    ok: { status: 200, body: R.SnapshotPolicyView },
    errors: [404],
  }),
  snapshots('get', '/v1/volumes/:id/snapshot-policy', {
    summary: 'The snapshot policy',
    ok: { status: 200, body: R.SnapshotPolicyView },
    errors: [404],
  }),
  snapshots('delete', '/v1/volumes/:id/snapshot-policy', {
    summary: 'Remove the snapshot policy',
    ok: { status: 200, body: R.PolicyDeleted },
    errors: [404],
  }),
];

const NOTIFICATION_ROUTES: ApiRoute[] = [
  notify('put', '/v1/webhook', {
    summary: 'Set the webhook; answers its new signing secret once',
    body: WebhookBody,
    ok: { status: 200, body: R.WebhookSet },
  }),
  notify('get', '/v1/webhook', { summary: 'The webhook and its delivery counts', ok: { status: 200, body: R.WebhookView }, errors: [404] }),
  notify('delete', '/v1/webhook', { summary: 'Stop deliveries', ok: { status: 200, body: R.Deleted }, errors: [404] }),
  notify('get', '/v1/events', {
    summary: "Your volumes' events, oldest first",
    query: EventFeedQuery,
    ok: { status: 200, body: R.EventFeed },
  }),
];

const OPERATOR_ROUTES: ApiRoute[] = [
  operator('post', '/v1/operator/customers', {
    summary: 'Create a customer and its API key',
    body: CreateCustomerBody,
    ok: { status: 201, body: R.CustomerCreated },
  }),
  operator('get', '/v1/operator/customers/:customerId/quota', {
    summary: "A customer's quota and usage",
    ok: { status: 200, body: R.QuotaView },
    errors: [404],
  }),
  operator('put', '/v1/operator/customers/:customerId/quota', {
    summary: "Set a customer's quota",
    body: QuotaBody,
    ok: { status: 200, body: R.QuotaView },
    errors: [404],
  }),
  operator('get', '/v1/operator/fleet', {
    summary: 'Every node, its failure domain, state and space',
    ok: { status: 200, body: R.FleetView },
  }),
  operator('get', '/v1/operator/health', {
    summary: "The fleet's health at a glance: ok, or warn/error with each reason and its count",
    query: HealthQuery,
    ok: { status: 200, body: R.FleetHealthView },
    errors: [400],
  }),
  operator('get', '/v1/operator/recoveries', {
    summary: 'Server recoveries, newest first',
    query: RecoveriesQuery,
    ok: { status: 200, body: R.RecoveryList },
  }),
  operator('get', '/v1/operator/admission', {
    summary: 'Admission: the bound, who recovers, who waits',
    ok: { status: 200, body: R.AdmissionView },
  }),
  operator('get', '/v1/operator/throttle', { summary: 'Throttle settings', ok: { status: 200, body: R.ThrottleView } }),
  operator('put', '/v1/operator/throttle', {
    summary: 'Change the throttle settings',
    body: ThrottleBody,
    ok: { status: 200, body: R.ThrottleView },
  }),
  operator('get', '/v1/operator/recovery-workflows', {
    summary: 'Recovery, failover and rebuild workflows with their phase, newest first, and the Temporal UI address',
    query: WorkflowsQuery,
    ok: { status: 200, body: R.RecoveryWorkflowList },
  }),
  operator('get', '/v1/operator/breaker', {
    summary: 'The mass-outage breaker as the inventory shows it',
    ok: { status: 200, body: R.BreakerView },
  }),
  operator('get', '/v1/operator/review-queue', {
    summary: 'Volumes awaiting their owner, oldest first',
    ok: { status: 200, body: R.ReviewQueue },
  }),
  operator('get', '/v1/operator/node-copies', { summary: 'Copies held per node', ok: { status: 200, body: R.NodeCopies } }),
];

const NODE_ROUTES: ApiRoute[] = [
  route('Storage nodes', 'join')('post', '/v1/nodes/register', {
    summary:
      'Register a node (join token; a known node re-registers with its node token in x-node-token, or with the key of its first registration in x-node-registration-key)',
    body: RegisterBody,
    ok: { status: 200, body: R.NodeRegistered },
    errors: [403],
  }),
  node('post', '/v1/nodes/:nodeId/heartbeat', {
    summary: 'Heartbeat',
    body: HeartbeatBody,
    ok: { status: 200, body: R.HeartbeatAnswer },
    errors: [403, 404],
  }),
  node('post', '/v1/nodes/:nodeId/recovery-reports', {
    summary: 'Report a recovery scan; 429 + Retry-After past the admission bound',
    body: ScanReportBody,
    ok: { status: 202, body: R.ReportAdmitted },
    errors: [403, 429],
  }),
  node('post', '/v1/nodes/:nodeId/peer-drops', {
    summary: 'A primary that cannot reach its secondary asks to serve alone; 409 if it may not, 503 + Retry-After while the breaker holds',
    body: PeerDropBody,
    ok: { status: 202, body: R.PeerDropStarted },
    errors: [403, 404, 409, 503],
  }),
];

const SERVICE_ROUTES: ApiRoute[] = [
  meta('get', '/healthz', { summary: 'Liveness', ok: { status: 200, body: R.Health } }),
  meta('get', '/v1/openapi.json', { summary: 'This document', ok: { status: 200, body: 'json' } }),
  meta('get', '/docs', { summary: 'This document, rendered for people', ok: { status: 200, body: 'html' } }),
  meta('get', '/console/', { summary: 'The web console (customers and operators)', ok: { status: 200, body: 'html' } }),
  meta('get', '/metrics', { summary: 'Prometheus metrics', ok: { status: 200, body: 'text' } }),
];

export const API_ROUTES: ApiRoute[] = [
  ...VOLUME_ROUTES,
  ...SNAPSHOT_ROUTES,
  ...NOTIFICATION_ROUTES,
  ...OPERATOR_ROUTES,
  ...NODE_ROUTES,
  ...SERVICE_ROUTES,
];
