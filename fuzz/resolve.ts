// Turns a symbolic HTTP case into the request sent: ids of the fixture, credentials (keys,
// node and mirror tokens, grants signed right or wrong), bodies and replication messages.
import { mirrorToken, nodeToken, signGrant, volumeMirrorToken, type GrantAccess } from '../common/tokens.js';
import { encodeMirror, encodeRebuildFinish, encodeRebuildRange, HEADER_BYTES } from '../storage-node/protocol/replication.js';
import { expand } from './bytes.js';
import type { Body, Credential, HttpCase, NodeRef, SnapshotRef, VolumeRef } from './cases.js';
import type { World } from './world.js';

export interface ResolvedHttp {
  url: string;
  method: string;
  headers: Record<string, string>;
  body?: Buffer;
  /** The tenant acting, when the credential is a customer's. */
  actor: 'owner' | 'other' | null;
  /** A customer reaching for the other tenant's volume or snapshot. */
  crossTenant: boolean;
  /** A read to compare with the byte model, or a write to apply to it, on a 2xx. */
  read?: { volumeId: string; offset: number; length: number };
  write?: { volumeId: string; offset: number; data: Buffer };
}

export interface Copy {
  nodeId: string;
  role: string;
  epoch: number;
}

/** The inventory's copies of a volume (in service or otherwise), primary first. */
export async function copiesOf(w: World, volumeId: string): Promise<Copy[]> {
  const { rows } = await w.scratch.db.query<Copy>(
    `select node_id as "nodeId", role, epoch from replicas where volume_id = $1 and state <> 'deleted' order by role, node_id`,
    [volumeId],
  );
  return rows;
}

export const missingId = (prefix: string, index: number) => `${prefix}-fuzzmissing${index.toString(16).padStart(6, '0')}`;

export function volumeIdOf(w: World, ref: VolumeRef, index: number, foreignAsMissing = false): string {
  switch (ref.kind) {
    case 'own':
      return w.owner.volumes[ref.slot]!;
    case 'foreign':
      return foreignAsMissing ? missingId('vol', index) : w.other.volumes[ref.slot]!;
    case 'scratch':
      return w.created.volumes.at(-1) ?? missingId('vol', index);
    case 'missing':
      return missingId('vol', index);
    case 'hostile':
      return ref.raw;
  }
}

function snapshotIdOf(w: World, ref: SnapshotRef, index: number, foreignAsMissing: boolean): string {
  switch (ref.kind) {
    case 'own':
      return w.owner.snapshot;
    case 'latest':
      return w.created.snapshots.at(-1) ?? missingId('snap', index);
    case 'foreign':
      return foreignAsMissing ? missingId('snap', index) : w.other.snapshot;
    case 'missing':
      return missingId('snap', index);
    case 'hostile':
      return ref.raw;
  }
}

/** The node a node route addresses. */
export async function nodeOf(w: World, ref: NodeRef): Promise<string> {
  if (ref.kind === 'index') return w.nodes[ref.index % w.nodes.length]!.nodeId;
  const copies = await copiesOf(w, w.owner.volumes[ref.slot]!);
  const copy = copies.find((c) => c.role === ref.kind) ?? copies[0];
  return copy?.nodeId ?? w.nodes[0]!.nodeId;
}

const otherNode = (w: World, nodeId: string) => {
  const i = w.nodes.findIndex((n) => n.nodeId === nodeId);
  return w.nodes[(i + 1) % w.nodes.length]!.nodeId;
};

const GARBAGE = [
  'Bearer ',
  'Bearer bsk_0000000000000000000000000000',
  'Basic YWRtaW46YWRtaW4=',
  'bearer x',
  `Bearer ${'a'.repeat(4000)}`,
  'Bearer node-1.',
  'Bearer \u00e9',
];

interface CredContext {
  w: World;
  nodeId: string;
  volumeId: string;
  epoch: number;
  index: number;
}

function grant(ctx: CredContext, opts: { access?: GrantAccess; expiresAt?: number; key?: string; nodeId?: string }): string {
  const nodeId = opts.nodeId ?? ctx.nodeId;
  const key = opts.key ?? nodeToken(ctx.w.clusterSecret, nodeId);
  return signGrant(
    { volumeId: ctx.volumeId, nodeId, access: opts.access ?? 'review', expiresAt: opts.expiresAt ?? Date.now() + 120_000 },
    key,
  );
}

function secretOf(cred: Credential, ctx: CredContext): string | null {
  const { w } = ctx;
  const mirrorSecret = () => mirrorToken(w.clusterSecret, ctx.nodeId);
  switch (cred) {
    case 'owner':
      return w.owner.apiKey;
    case 'other-tenant':
      return w.other.apiKey;
    case 'operator':
      return w.operatorToken;
    case 'join':
      return w.joinToken;
    case 'node-own':
      return nodeToken(w.clusterSecret, ctx.nodeId);
    case 'node-other':
      return nodeToken(w.clusterSecret, otherNode(w, ctx.nodeId));
    case 'mirror-right':
      return volumeMirrorToken(mirrorSecret(), ctx.volumeId, ctx.epoch);
    case 'mirror-wrong-volume': {
      const others = w.owner.volumes.filter((v) => v !== ctx.volumeId);
      return volumeMirrorToken(mirrorSecret(), others[ctx.index % others.length]!, ctx.epoch);
    }
    case 'grant-valid':
      return grant(ctx, {});
    case 'grant-expired':
      return grant(ctx, { expiresAt: Date.now() - 1000 });
    case 'grant-forged':
      return grant(ctx, { key: `${ctx.nodeId}.forged-key` });
    case 'grant-other-node':
      return grant(ctx, { nodeId: otherNode(w, ctx.nodeId) });
    case 'grant-io':
      return grant(ctx, { access: 'io' });
    case 'none':
    case 'garbage':
      return null;
  }
}

function authorization(c: HttpCase, ctx: CredContext): string | null {
  if (c.credential === 'garbage') return GARBAGE[c.index % GARBAGE.length]!;
  const secret = secretOf(c.credential, ctx);
  if (secret === null) return null;
  return `${c.route === 'sn.review' ? 'Grant' : 'Bearer'} ${secret}`;
}

function replication(b: Extract<Body, { kind: 'replication' }>, volumeId: string, epoch: number): Buffer {
  const payload = expand({ seed: b.bytes.seed, length: 4096 });
  const valid =
    b.message === 'mirror'
      ? encodeMirror({ volumeId, epoch, writes: [{ seq: 1, offset: 0, payload }] })
      : b.message === 'range'
        ? encodeRebuildRange({ volumeId, epoch, offset: 0, crcs: new Uint32Array(1), payload })
        : encodeRebuildFinish({ volumeId, epoch, writeSeq: 1, baseSnapshotId: null, dirty: Buffer.alloc(32) });
  if (b.form === 'valid') return valid;
  if (b.form === 'truncated') return valid.subarray(0, b.bytes.length % (valid.length - 1));
  const garbage = expand(b.bytes);
  return garbage.length >= HEADER_BYTES ? Buffer.concat([valid.subarray(0, 4), garbage.subarray(4)]) : garbage;
}

function bodyBytes(c: HttpCase, ctx: CredContext, snapshots: { own: string; foreign: string }): { bytes?: Buffer; type?: string } {
  const b = c.body;
  if (b.kind === 'none') return {};
  if (b.kind === 'text') return { bytes: Buffer.from(b.text), type: b.contentType };
  if (b.kind === 'bytes') return { bytes: expand(b.bytes), type: 'application/octet-stream' };
  if (b.kind === 'replication') return { bytes: replication(b, ctx.volumeId, ctx.epoch), type: 'application/octet-stream' };
  const text = JSON.stringify(b.value ?? null)
    .replaceAll('@@SNAP_OWN@@', snapshots.own)
    .replaceAll('@@SNAP_FOREIGN@@', snapshots.foreign)
    .replaceAll('@@NODE_ID@@', ctx.nodeId);
  return { bytes: Buffer.from(text), type: b.contentType ?? 'application/json' };
}

function pathOf(c: HttpCase, ids: Record<string, string>): string {
  return c.path.replace(/:(id|sid|customerId|nodeId|snapshotId)\b/g, (_m, name: string) => {
    const raw = ids[name] ?? '';
    const hostile = (c.params as Record<string, { kind?: string } | undefined>)[name]?.kind === 'hostile' || name === 'snapshotId';
    return hostile ? raw : encodeURIComponent(raw);
  });
}

function isCrossTenant(c: HttpCase, actor: ResolvedHttp['actor']): boolean {
  if (!actor) return false;
  const mine = actor === 'owner' ? ['own', 'scratch', 'latest'] : ['foreign'];
  const theirs = actor === 'owner' ? ['foreign'] : ['own', 'scratch', 'latest'];
  const refs = [c.params.id, c.params.sid].filter((r) => r !== undefined).map((r) => r.kind);
  const bodyForeign = JSON.stringify(c.body.kind === 'json' ? c.body.value : null).includes('@@SNAP_FOREIGN@@');
  return bodyForeign || refs.some((k) => theirs.includes(k) && !mine.includes(k));
}

function modelAccess(c: HttpCase, volumeId: string, data: Buffer | undefined): Pick<ResolvedHttp, 'read' | 'write'> {
  const ownFixture = c.params.id?.kind === 'own';
  const authorized = c.credential === 'owner' || c.credential === 'node-own' || (c.route === 'sn.review' && c.credential === 'grant-valid');
  if (!ownFixture || !authorized) return {};
  const q = new URLSearchParams(c.query);
  const count = (k: string) => (q.getAll(k).length === 1 && /^\d{1,15}$/.test(q.get(k)!) ? Number(q.get(k)) : null);
  const offset = count('offset');
  if (offset === null) return {};
  if (c.route === 'volume.read' || c.route === 'sn.read' || c.route === 'sn.review') {
    const length = count('length');
    return length === null ? {} : { read: { volumeId, offset, length } };
  }
  if ((c.route === 'volume.write' || c.route === 'sn.write') && data) return { write: { volumeId, offset, data } };
  return {};
}

/** The request for case `c`; `foreignAsMissing` replaces the other tenant's ids with missing ones (the cross-tenant control). */
export async function resolveHttp(w: World, c: HttpCase, foreignAsMissing = false): Promise<ResolvedHttp> {
  const volumeId = c.params.id ? volumeIdOf(w, c.params.id, c.index, foreignAsMissing) : w.owner.volumes[0]!;
  const pathNode = c.params.nodeId?.kind === 'index' ? w.nodes[c.params.nodeId.index % w.nodes.length]!.nodeId : undefined;
  const nodeId = c.node ? await nodeOf(w, c.node) : (pathNode ?? w.nodes[0]!.nodeId);
  const epoch = (await copiesOf(w, volumeId)).find((x) => x.nodeId === nodeId)?.epoch ?? 1;
  const ctx: CredContext = { w, nodeId, volumeId, epoch, index: c.index };
  const ids: Record<string, string> = {
    id: volumeId,
    sid: c.params.sid ? snapshotIdOf(w, c.params.sid, c.index, foreignAsMissing) : '',
    customerId: customerIdOf(w, c, foreignAsMissing),
    nodeId: c.params.nodeId?.kind === 'hostile' ? c.params.nodeId.raw : nodeId,
    snapshotId: c.params.snapshotId ?? '',
  };
  const base = c.service === 'api' ? w.apiUrl : w.nodes.find((n) => n.nodeId === nodeId)!.url;
  // Body placeholders are relative to the tenant acting: its own snapshot, or the other tenant's.
  const [mine, theirs] = c.credential === 'other-tenant' ? [w.other.snapshot, w.owner.snapshot] : [w.owner.snapshot, w.other.snapshot];
  const snapshots = { own: mine, foreign: foreignAsMissing ? missingId('snap', c.index) : theirs };
  const { bytes, type } = bodyBytes(c, ctx, snapshots);
  const headers: Record<string, string> = {};
  const auth = authorization(c, ctx);
  if (auth !== null) headers.authorization = auth;
  if (type) headers['content-type'] = type;
  const actor = c.credential === 'owner' ? 'owner' : c.credential === 'other-tenant' ? 'other' : null;
  return {
    url: `${base}${pathOf(c, ids)}${c.query ? `?${c.query}` : ''}`,
    method: c.method,
    headers,
    body: bytes,
    actor,
    crossTenant: c.service === 'api' && isCrossTenant(c, actor),
    ...modelAccess(c, volumeId, c.body.kind === 'bytes' ? bytes : undefined),
  };
}

function customerIdOf(w: World, c: HttpCase, foreignAsMissing: boolean): string {
  const ref = c.params.customerId;
  if (!ref) return '';
  if (ref.kind === 'owner') return w.owner.customerId;
  if (ref.kind === 'other') return foreignAsMissing ? missingId('cus', c.index) : w.other.customerId;
  return ref.kind === 'missing' ? missingId('cus', c.index) : ref.raw;
}
