// Every route the fuzzer knows: the customer, operator and node APIs of the control plane and
// the storage nodes' HTTP endpoints, each with the credential that authorizes it and valid
// inputs the generator mutates (fuzz/generator.ts). Pure data and arbitraries.
import fc from 'fast-check';
import type { Credential } from './cases.js';
import { badCron, externalUrl, internalUrl, rareCron, tightCron } from './values.js';

/** Every fixture volume has this size; valid ranges stay inside it. */
export const FIXTURE_VOLUME_BYTES = 1 << 20;
/** Fixture volumes per tenant: the owner's are written and read, the other tenant's only probed. */
export const FIXTURE_VOLUMES = 3;
export const NODE_COUNT = 4;

export interface JsonSpec {
  valid: fc.Arbitrary<Record<string, unknown>>;
  /** Keys whose absence is refused. */
  mustHave: string[];
  /** Unknown keys refused. */
  strict: boolean;
  nullable?: string[];
  /** Bodies that must be refused whatever else holds, with the reason. */
  refused?: fc.Arbitrary<{ value: Record<string, unknown>; why: string }>;
}

export interface QuerySpec {
  valid: fc.Arbitrary<Record<string, string>>;
  mustHave: string[];
  strict: boolean;
  /** Keys that are counts: a non-decimal value is refused. */
  counts: string[];
}

/**
 * What a request with the route's own credential may do to the fixture. `break`: only inputs
 * refused by construction (the node's control verbs, registration, reports); `no-fixture`: never
 * aimed at a fixture volume or snapshot (deletes); `never`: not sent with it at all.
 */
export type Guard = 'break' | 'no-fixture' | 'never';

export interface RouteSpec {
  name: string;
  service: 'api' | 'node';
  method: string;
  path: string;
  auth: Credential;
  json?: JsonSpec;
  query?: QuerySpec;
  /** A binary body: block data or a replication message. */
  binary?: 'data' | 'mirror' | 'range' | 'finish';
  guard?: Guard;
  /** Reads whose 200 is compared with the byte model. */
  reads?: boolean;
  weight: number;
}

const NONE: QuerySpec = { valid: fc.constant({}), mustHave: [], strict: true, counts: [] };
const blockMultiple = fc.integer({ min: 1, max: 512 }).map((n) => n * 4096);
const validRange = fc
  .integer({ min: 1, max: 64 * 1024 })
  .chain((length) =>
    fc.integer({ min: 0, max: FIXTURE_VOLUME_BYTES - length }).map((offset) => ({ offset: String(offset), length: String(length) })),
  );
const rangeQuery = (strict: boolean): QuerySpec => ({
  valid: validRange,
  mustHave: ['offset', 'length'],
  strict,
  counts: ['offset', 'length'],
});
const writeQuery = (strict: boolean): QuerySpec => ({
  valid: fc.integer({ min: 0, max: FIXTURE_VOLUME_BYTES - 1 }).map((o) => ({ offset: String(o) })),
  mustHave: ['offset'],
  strict,
  counts: ['offset'],
});
const obj = <T extends Record<string, unknown>>(a: fc.Arbitrary<T>) => a as fc.Arbitrary<Record<string, unknown>>;

const volumeBody: JsonSpec = {
  valid: fc.oneof(
    obj(fc.record({ sizeBytes: blockMultiple })),
    obj(fc.record({ sizeBytes: blockMultiple, autoEnableIo: fc.boolean() })),
    obj(fc.record({ snapshotId: fc.constant('@@SNAP_OWN@@'), autoEnableIo: fc.boolean() })),
  ),
  mustHave: [],
  strict: true,
  refused: fc.oneof(
    fc.constant({ value: { snapshotId: '@@SNAP_FOREIGN@@' }, why: "another tenant's snapshot" }),
    fc
      .constantFrom(0, 4097, 100, -4096, 4096.5)
      .map((sizeBytes) => ({ value: { sizeBytes }, why: 'size not a positive multiple of 4096' })),
  ),
};
const policyBody: JsonSpec = {
  valid: fc.oneof(
    obj(fc.record({ intervalSeconds: fc.integer({ min: 30 * 86400, max: 366 * 86400 }), retention: fc.integer({ min: 1, max: 1000 }) })),
    obj(fc.record({ cron: rareCron, retention: fc.integer({ min: 1, max: 1000 }) })),
  ),
  mustHave: ['retention'],
  strict: true,
  refused: fc.oneof(
    fc
      .record({ cron: tightCron, retention: fc.integer({ min: 1, max: 10 }) })
      .map((value) => ({ value, why: 'schedule tighter than the minimum' })),
    fc
      .record({ intervalSeconds: fc.integer({ min: -5, max: 299 }), retention: fc.constant(3) })
      .map((value) => ({ value, why: 'interval under the minimum' })),
    fc.record({ cron: badCron, retention: fc.constant(3) }).map((value) => ({ value, why: 'malformed cron' })),
    fc.constant({ value: { intervalSeconds: 86400, cron: '0 3 1 1 *', retention: 3 }, why: 'both intervalSeconds and cron' }),
    fc.constant({ value: { retention: 3 }, why: 'neither intervalSeconds nor cron' }),
  ),
};
const replicaScan = fc.record({
  volumeId: fc.constant('vol-fuzz'),
  sizeBytes: fc.constant(4096),
  role: fc.constant('primary'),
  epoch: fc.nat(5),
  writeSeq: fc.nat(5),
  badBlocks: fc.constant([]),
  dirtyBadBlocks: fc.constant([]),
  digest: fc.constant('0'.repeat(64)),
  baseSnapshotId: fc.constant(null),
  rebuilding: fc.boolean(),
});
const peer = fc.constantFrom(null, { nodeId: 'node-1', url: 'http://127.0.0.1:1/', token: 'x' });

/** The control plane: customer, operator and node routes. */
export const API_ROUTES: RouteSpec[] = [
  { name: 'volume.create', service: 'api', method: 'POST', path: '/v1/volumes', auth: 'owner', json: volumeBody, weight: 3 },
  { name: 'volume.list', service: 'api', method: 'GET', path: '/v1/volumes', auth: 'owner', weight: 2 },
  { name: 'volume.get', service: 'api', method: 'GET', path: '/v1/volumes/:id', auth: 'owner', weight: 3 },
  {
    name: 'volume.patch',
    service: 'api',
    method: 'PATCH',
    path: '/v1/volumes/:id',
    auth: 'owner',
    json: { valid: obj(fc.record({ autoEnableIo: fc.boolean() })), mustHave: ['autoEnableIo'], strict: true },
    weight: 3,
  },
  { name: 'volume.delete', service: 'api', method: 'DELETE', path: '/v1/volumes/:id', auth: 'owner', guard: 'no-fixture', weight: 2 },
  { name: 'volume.status', service: 'api', method: 'GET', path: '/v1/volumes/:id/status', auth: 'owner', weight: 2 },
  { name: 'volume.enable-io', service: 'api', method: 'POST', path: '/v1/volumes/:id/enable-io', auth: 'owner', weight: 2 },
  {
    name: 'volume.archive',
    service: 'api',
    method: 'POST',
    path: '/v1/volumes/:id/archive',
    auth: 'owner',
    guard: 'no-fixture',
    weight: 1,
  },
  {
    name: 'volume.transfer',
    service: 'api',
    method: 'POST',
    path: '/v1/volumes/:id/transfer',
    auth: 'owner',
    guard: 'no-fixture',
    weight: 1,
  },
  {
    name: 'volume.attach',
    service: 'api',
    method: 'POST',
    path: '/v1/volumes/:id/attachments',
    auth: 'owner',
    json: { valid: obj(fc.record({ review: fc.boolean() }, { requiredKeys: [] })), mustHave: [], strict: true },
    weight: 2,
  },
  { name: 'volume.review-grant', service: 'api', method: 'POST', path: '/v1/volumes/:id/review-grants', auth: 'owner', weight: 2 },
  {
    name: 'volume.read',
    service: 'api',
    method: 'GET',
    path: '/v1/volumes/:id/data',
    auth: 'owner',
    query: rangeQuery(true),
    reads: true,
    weight: 8,
  },
  {
    name: 'volume.write',
    service: 'api',
    method: 'PUT',
    path: '/v1/volumes/:id/data',
    auth: 'owner',
    query: writeQuery(true),
    binary: 'data',
    weight: 8,
  },
  { name: 'snapshot.create', service: 'api', method: 'POST', path: '/v1/volumes/:id/snapshots', auth: 'owner', weight: 2 },
  { name: 'snapshot.list', service: 'api', method: 'GET', path: '/v1/volumes/:id/snapshots', auth: 'owner', weight: 2 },
  { name: 'snapshot.get', service: 'api', method: 'GET', path: '/v1/snapshots/:sid', auth: 'owner', weight: 2 },
  { name: 'snapshot.delete', service: 'api', method: 'DELETE', path: '/v1/snapshots/:sid', auth: 'owner', guard: 'no-fixture', weight: 2 },
  {
    name: 'policy.put',
    service: 'api',
    method: 'PUT',
    path: '/v1/volumes/:id/snapshot-policy',
    auth: 'owner',
    json: policyBody,
    weight: 4,
  },
  { name: 'policy.get', service: 'api', method: 'GET', path: '/v1/volumes/:id/snapshot-policy', auth: 'owner', weight: 1 },
  { name: 'policy.delete', service: 'api', method: 'DELETE', path: '/v1/volumes/:id/snapshot-policy', auth: 'owner', weight: 1 },
  {
    name: 'webhook.put',
    service: 'api',
    method: 'PUT',
    path: '/v1/webhook',
    auth: 'owner',
    weight: 3,
    json: {
      valid: obj(fc.record({ url: externalUrl })),
      mustHave: ['url'],
      strict: true,
      refused: internalUrl.map((url) => ({ value: { url }, why: 'internal webhook URL' })),
    },
  },
  { name: 'webhook.get', service: 'api', method: 'GET', path: '/v1/webhook', auth: 'owner', weight: 1 },
  { name: 'webhook.delete', service: 'api', method: 'DELETE', path: '/v1/webhook', auth: 'owner', weight: 1 },
  {
    name: 'events',
    service: 'api',
    method: 'GET',
    path: '/v1/events',
    auth: 'owner',
    weight: 2,
    query: {
      valid: fc.record({ after: fc.nat(1000).map(String), limit: fc.integer({ min: 1, max: 500 }).map(String) }, { requiredKeys: [] }),
      mustHave: [],
      strict: true,
      counts: ['after', 'limit'],
    },
  },
  {
    name: 'op.customers',
    service: 'api',
    method: 'POST',
    path: '/v1/operator/customers',
    auth: 'operator',
    json: { valid: obj(fc.record({ name: fc.string({ minLength: 1, maxLength: 40 }) })), mustHave: ['name'], strict: true },
    weight: 1,
  },
  { name: 'op.quota.get', service: 'api', method: 'GET', path: '/v1/operator/customers/:customerId/quota', auth: 'operator', weight: 1 },
  {
    name: 'op.quota.put',
    service: 'api',
    method: 'PUT',
    path: '/v1/operator/customers/:customerId/quota',
    auth: 'operator',
    weight: 1,
    json: {
      valid: obj(
        fc.record(
          {
            maxVolumes: fc.option(fc.integer({ min: 20, max: 200 })),
            maxBytes: fc.option(fc.constant(2 ** 40)),
            maxSnapshots: fc.option(fc.integer({ min: 50, max: 2000 })),
          },
          { requiredKeys: [] },
        ),
      ),
      mustHave: [],
      strict: true,
      nullable: ['maxVolumes', 'maxBytes', 'maxSnapshots'],
    },
  },
  { name: 'op.fleet', service: 'api', method: 'GET', path: '/v1/operator/fleet', auth: 'operator', weight: 1 },
  {
    name: 'op.recoveries',
    service: 'api',
    method: 'GET',
    path: '/v1/operator/recoveries',
    auth: 'operator',
    query: {
      valid: fc.record({ limit: fc.integer({ min: 1, max: 1000 }).map(String) }, { requiredKeys: [] }),
      mustHave: [],
      strict: true,
      counts: ['limit'],
    },
    weight: 1,
  },
  { name: 'op.admission', service: 'api', method: 'GET', path: '/v1/operator/admission', auth: 'operator', weight: 1 },
  { name: 'op.throttle.get', service: 'api', method: 'GET', path: '/v1/operator/throttle', auth: 'operator', weight: 1 },
  {
    name: 'op.throttle.put',
    service: 'api',
    method: 'PUT',
    path: '/v1/operator/throttle',
    auth: 'operator',
    weight: 1,
    json: {
      valid: obj(
        fc.record({
          maxConcurrentRecoveries: fc.integer({ min: 1, max: 1000 }),
          massOutageShare: fc.double({ min: 0.2, max: 0.9, noNaN: true }),
        }),
      ),
      mustHave: ['maxConcurrentRecoveries', 'massOutageShare'],
      strict: true,
    },
  },
  {
    name: 'node.register',
    service: 'api',
    method: 'POST',
    path: '/v1/nodes/register',
    auth: 'join',
    guard: 'break',
    weight: 2,
    json: {
      valid: obj(
        fc.record({
          nodeId: fc.constant('node-fuzz'),
          url: fc.constant('http://127.0.0.1:1/'),
          domainPath: fc.constant('dc1/az9/r9/p9/h9'),
          capacityBytes: fc.constant(1 << 30),
          nbdAddress: fc.constant('127.0.0.1:1'),
        }),
      ),
      mustHave: ['nodeId', 'url', 'domainPath', 'capacityBytes'],
      strict: true,
    },
  },
  {
    name: 'node.heartbeat',
    service: 'api',
    method: 'POST',
    path: '/v1/nodes/:nodeId/heartbeat',
    auth: 'node-own',
    guard: 'break',
    weight: 2,
    json: {
      valid: obj(fc.record({ usedBytes: fc.nat(), recovering: fc.boolean(), bootId: fc.constant('fuzz-boot') })),
      mustHave: ['usedBytes', 'recovering', 'bootId'],
      strict: true,
    },
  },
  {
    name: 'node.report',
    service: 'api',
    method: 'POST',
    path: '/v1/nodes/:nodeId/recovery-reports',
    auth: 'node-own',
    guard: 'break',
    weight: 2,
    json: {
      valid: obj(
        fc.record({
          nodeId: fc.constant('@@NODE_ID@@'),
          scannedAt: fc.constant('2024-01-01T00:00:00Z'),
          crashed: fc.boolean(),
          replicas: fc.array(replicaScan, { maxLength: 2 }),
        }),
      ),
      mustHave: ['nodeId', 'scannedAt', 'crashed', 'replicas'],
      strict: true,
    },
  },
];

/** The storage nodes' own HTTP endpoints (storage-node/contract.ts NODE_PATHS). */
export const NODE_ROUTES: RouteSpec[] = [
  { name: 'sn.health', service: 'node', method: 'GET', path: '/v1/health', auth: 'none', weight: 1 },
  {
    name: 'sn.read',
    service: 'node',
    method: 'GET',
    path: '/v1/volumes/:id/data',
    auth: 'node-own',
    query: rangeQuery(false),
    reads: true,
    weight: 4,
  },
  {
    name: 'sn.write',
    service: 'node',
    method: 'PUT',
    path: '/v1/volumes/:id/data',
    auth: 'node-own',
    query: writeQuery(false),
    binary: 'data',
    weight: 3,
  },
  {
    name: 'sn.review',
    service: 'node',
    method: 'GET',
    path: '/v1/volumes/:id/review',
    auth: 'grant-valid',
    query: rangeQuery(false),
    reads: true,
    weight: 4,
  },
  { name: 'sn.status', service: 'node', method: 'GET', path: '/v1/volumes/:id', auth: 'node-own', weight: 1 },
  { name: 'sn.digest', service: 'node', method: 'GET', path: '/v1/volumes/:id/digest', auth: 'node-own', weight: 1 },
  {
    name: 'sn.blocks',
    service: 'node',
    method: 'GET',
    path: '/v1/volumes/:id/blocks',
    auth: 'node-own',
    query: {
      valid: fc.record({ first: fc.nat(255).map(String), count: fc.integer({ min: 1, max: 16 }).map(String) }),
      mustHave: ['first', 'count'],
      strict: false,
      counts: ['first', 'count'],
    },
    weight: 1,
  },
  { name: 'sn.scan', service: 'node', method: 'GET', path: '/v1/scan', auth: 'node-own', guard: 'never', weight: 1 },
  { name: 'sn.resume', service: 'node', method: 'POST', path: '/v1/service/resume', auth: 'node-own', guard: 'never', weight: 1 },
  {
    name: 'sn.create',
    service: 'node',
    method: 'PUT',
    path: '/v1/volumes/:id',
    auth: 'node-own',
    guard: 'break',
    weight: 2,
    json: {
      valid: obj(fc.record({ sizeBytes: blockMultiple, role: fc.constantFrom('primary', 'secondary'), epoch: fc.nat(9), peer })),
      mustHave: ['sizeBytes', 'role', 'epoch', 'peer'],
      strict: true,
      nullable: ['peer'],
    },
  },
  { name: 'sn.delete', service: 'node', method: 'DELETE', path: '/v1/volumes/:id', auth: 'node-own', guard: 'no-fixture', weight: 1 },
  {
    name: 'sn.config',
    service: 'node',
    method: 'POST',
    path: '/v1/volumes/:id/config',
    auth: 'node-own',
    guard: 'break',
    weight: 2,
    json: {
      valid: obj(fc.record({ role: fc.constantFrom('primary', 'secondary'), epoch: fc.nat(9), peer })),
      mustHave: ['role', 'epoch', 'peer'],
      strict: true,
      nullable: ['peer'],
    },
  },
  {
    name: 'sn.io',
    service: 'node',
    method: 'POST',
    path: '/v1/volumes/:id/io',
    auth: 'node-own',
    guard: 'break',
    weight: 2,
    json: { valid: obj(fc.record({ state: fc.constantFrom('enabled', 'paused') })), mustHave: ['state'], strict: false },
  },
  {
    name: 'sn.enable',
    service: 'node',
    method: 'POST',
    path: '/v1/volumes/:id/enable',
    auth: 'node-own',
    guard: 'break',
    weight: 1,
    json: { valid: obj(fc.record({ epoch: fc.nat(9), peer })), mustHave: ['epoch'], strict: true, nullable: ['peer'] },
  },
  {
    name: 'sn.restore',
    service: 'node',
    method: 'POST',
    path: '/v1/volumes/:id/restore',
    auth: 'node-own',
    guard: 'break',
    weight: 1,
    json: { valid: obj(fc.record({ repairs: fc.constant([]) })), mustHave: [], strict: false },
  },
  {
    name: 'sn.repair',
    service: 'node',
    method: 'POST',
    path: '/v1/volumes/:id/repair',
    auth: 'node-own',
    guard: 'break',
    weight: 1,
    json: { valid: obj(fc.record({ repairs: fc.constant([]) })), mustHave: [], strict: false },
  },
  {
    name: 'sn.snapshot',
    service: 'node',
    method: 'POST',
    path: '/v1/volumes/:id/snapshots/:snapshotId',
    auth: 'node-own',
    guard: 'break',
    weight: 1,
  },
  {
    name: 'sn.copy-range',
    service: 'node',
    method: 'POST',
    path: '/v1/volumes/:id/rebuild/copy',
    auth: 'node-own',
    guard: 'break',
    weight: 1,
    query: {
      valid: fc.record({
        target: fc.constant('node-1'),
        epoch: fc.nat(9).map(String),
        offset: fc.constant('0'),
        length: fc.constant('4096'),
      }),
      mustHave: ['target', 'epoch', 'offset', 'length'],
      strict: false,
      counts: ['epoch', 'offset', 'length'],
    },
  },
  {
    name: 'sn.finish-peer',
    service: 'node',
    method: 'POST',
    path: '/v1/volumes/:id/rebuild/finish-peer',
    auth: 'node-own',
    guard: 'break',
    weight: 1,
    query: {
      valid: fc.record({ target: fc.constant('node-1'), epoch: fc.nat(9).map(String) }),
      mustHave: ['target', 'epoch'],
      strict: false,
      counts: ['epoch'],
    },
  },
  {
    name: 'sn.mirror',
    service: 'node',
    method: 'PUT',
    path: '/v1/volumes/:id/mirror',
    auth: 'mirror-right',
    binary: 'mirror',
    guard: 'break',
    weight: 3,
  },
  {
    name: 'sn.rebuild-range',
    service: 'node',
    method: 'PUT',
    path: '/v1/volumes/:id/rebuild',
    auth: 'mirror-right',
    binary: 'range',
    guard: 'break',
    weight: 2,
  },
  {
    name: 'sn.rebuild-finish',
    service: 'node',
    method: 'POST',
    path: '/v1/volumes/:id/rebuild/finish',
    auth: 'mirror-right',
    binary: 'finish',
    guard: 'break',
    weight: 2,
  },
];

export const ROUTES: RouteSpec[] = [...API_ROUTES, ...NODE_ROUTES];
