// Storage nodes: registration, heartbeats, and the state the recovery workflows move them through.
import type { FailureDomain } from '../../common/types.js';
import { MEMBER_STATES, type NodeState } from '../../common/states.js';
import type { Db, Tx } from './db.js';

export interface NodeRow {
  id: string;
  url: string;
  /** Where the node serves NBD, "host:port"; empty until it registered with one. */
  nbdAddress: string;
  /** Where peers mirror to it over mutual TLS ("https://host:port"); empty when they use `url`. */
  peerUrl: string;
  domain: FailureDomain;
  capacityBytes: number;
  usedBytes: number;
  state: NodeState;
  incident: number;
  lastHeartbeat: Date;
  /** The boot its last heartbeat came from ('' before its first). */
  bootId: string;
  /** Its report was turned away by the admission bound and it has not been admitted since: it waits its turn. */
  awaitingAdmission: boolean;
}

const COLUMNS =
  'id, url, nbd_address, peer_url, dc, zone, router, power, host, capacity_bytes, used_bytes, state, incident, last_heartbeat, boot_id, rejected_at';

function toRow(r: Record<string, unknown>): NodeRow {
  return {
    id: r.id as string,
    url: r.url as string,
    nbdAddress: r.nbd_address as string,
    peerUrl: r.peer_url as string,
    domain: { dc: r.dc, zone: r.zone, router: r.router, power: r.power, host: r.host } as FailureDomain,
    capacityBytes: Number(r.capacity_bytes),
    usedBytes: Number(r.used_bytes),
    state: r.state as NodeState,
    incident: r.incident as number,
    lastHeartbeat: r.last_heartbeat as Date,
    bootId: (r.boot_id as string) ?? '',
    awaitingAdmission: r.rejected_at !== null && r.rejected_at !== undefined,
  };
}

export interface NodeAddress {
  id: string;
  url: string;
  nbdAddress: string;
  peerUrl?: string;
}

/**
 * Who may register a node id: one holding its node token (`trusted`), or, when the id is known,
 * one presenting the registration key its first registration recorded (only its hash is kept).
 */
export interface RegistrationClaim {
  trusted: boolean;
  keyHash: string | null;
}

/**
 * Inserts a new node in service, or updates the address and capacity of a known one when the
 * claim holds (checked in the same statement, so two registrations of a new id cannot both win);
 * null when it does not. The first key presented is kept.
 */
export async function upsertNode(
  db: Db,
  node: NodeAddress,
  d: FailureDomain,
  capacityBytes: number,
  freshMs: number,
  claim: RegistrationClaim = { trusted: true, keyHash: null },
): Promise<NodeRow | null> {
  const { rows } = await db.query(
    `insert into nodes (id, url, nbd_address, peer_url, dc, zone, router, power, host, capacity_bytes, state, fresh_until, registration_key_hash)
     values ($1, $2, $3, $11, $4, $5, $6, $7, $8, $9, 'in-service', now() + make_interval(secs => $10::double precision / 1000), $12)
     on conflict (id) do update set url = excluded.url, nbd_address = excluded.nbd_address, peer_url = excluded.peer_url,
       capacity_bytes = excluded.capacity_bytes, last_heartbeat = now(), fresh_until = excluded.fresh_until,
       registration_key_hash = coalesce(nodes.registration_key_hash, excluded.registration_key_hash)
     where $13::boolean or nodes.registration_key_hash = excluded.registration_key_hash
     returning ${COLUMNS}`,
    [
      node.id,
      node.url,
      node.nbdAddress,
      d.dc,
      d.zone,
      d.router,
      d.power,
      d.host,
      capacityBytes,
      freshMs,
      node.peerUrl ?? '',
      claim.keyHash,
      claim.trusted,
    ],
  );
  return rows[0] ? toRow(rows[0]) : null;
}

export async function getNode(db: Db | Tx, id: string): Promise<NodeRow | null> {
  const { rows } = await db.query(`select ${COLUMNS} from nodes where id = $1`, [id]);
  return rows[0] ? toRow(rows[0]) : null;
}

export async function listNodes(db: Db): Promise<NodeRow[]> {
  const { rows } = await db.query(`select ${COLUMNS} from nodes order by id`);
  return rows.map(toRow);
}

/** Records a heartbeat; it vouches for the node for `freshMs` (the heartbeat timeout). */
export async function recordHeartbeat(db: Db, id: string, usedBytes: number, bootId: string, freshMs: number): Promise<NodeRow | null> {
  const { rows } = await db.query(
    `update nodes set last_heartbeat = now(), used_bytes = $2, boot_id = $3,
       fresh_until = now() + make_interval(secs => $4::double precision / 1000)
     where id = $1 returning ${COLUMNS}`,
    [id, usedBytes, bootId, freshMs],
  );
  return rows[0] ? toRow(rows[0]) : null;
}

/**
 * Silent nodes that answered the monitor's probe as themselves: heard of now, so they are not
 * checked again for one more timeout. Their freshness (what vouches for their copies) is left to
 * their heartbeats. One statement for them all.
 */
export async function noteAnsweredProbes(db: Db, nodes: { id: string; bootId: string }[]): Promise<void> {
  if (nodes.length === 0) return;
  await db.query(
    `update nodes n set last_heartbeat = now() from unnest($1::text[], $2::text[]) as a(id, boot_id)
     where n.id = a.id and n.boot_id = a.boot_id and n.state = 'in-service'`,
    [nodes.map((n) => n.id), nodes.map((n) => n.bootId)],
  );
}

/** In-service nodes whose last heartbeat is older than `timeoutMs`. */
export async function findSilentNodes(db: Db, timeoutMs: number): Promise<NodeRow[]> {
  const { rows } = await db.query(
    `select ${COLUMNS} from nodes
     where state = 'in-service' and last_heartbeat < now() - make_interval(secs => $1::double precision / 1000)`,
    [timeoutMs],
  );
  return rows.map(toRow);
}

/** Marks a node down for incident `incident`, unless it moved on meanwhile. */
export async function markNodeDown(db: Db, id: string, incident: number): Promise<void> {
  await db.query(`update nodes set state = 'down', incident = $2 where id = $1 and state = 'in-service' and incident = $2 - 1`, [
    id,
    incident,
  ]);
}

/** Admission: the node is recovering now, and out of the admission queue. */
export async function markAdmitted(tx: Tx, id: string): Promise<void> {
  await tx.query(`update nodes set state = 'recovering', rejected_at = null, last_heartbeat = now() where id = $1`, [id]);
}

export async function setNodeState(db: Db | Tx, id: string, state: NodeState): Promise<void> {
  await db.query('update nodes set state = $2, last_heartbeat = now() where id = $1', [id, state]);
}

/** A node's report was turned away by admission: it is in the queue until admitted. */
export async function recordRejection(db: Db, id: string): Promise<void> {
  await db.query('update nodes set rejected_at = now(), rejections = rejections + 1 where id = $1', [id]);
}

/** Nodes turned away within `windowMs` and not admitted since: the admission queue. */
export async function admissionQueue(db: Db, windowMs: number): Promise<{ nodeId: string; rejections: number; rejectedAt: Date }[]> {
  const { rows } = await db.query(
    `select id, rejections, rejected_at from nodes
     where rejected_at > now() - make_interval(secs => $1::double precision / 1000) order by rejected_at`,
    [windowMs],
  );
  return rows.map((r) => ({ nodeId: r.id as string, rejections: r.rejections as number, rejectedAt: r.rejected_at as Date }));
}

export async function totalRejections(db: Db): Promise<number> {
  const { rows } = await db.query('select coalesce(sum(rejections), 0)::int as n from nodes');
  return rows[0].n as number;
}

export async function countNodesInState(db: Db | Tx, state: NodeState): Promise<number> {
  const { rows } = await db.query('select count(*)::int as n from nodes where state = $1', [state]);
  return rows[0].n as number;
}

/**
 * Bytes allocated to member replicas on each node: what placement may not give away twice. A
 * volume whose creation failed (`error`) holds nothing: it never serves, and its space is free.
 */
export async function allocatedBytesByNode(db: Db | Tx): Promise<Map<string, number>> {
  const { rows } = await db.query(
    `select r.node_id, sum(v.size_bytes)::bigint as bytes from replicas r join volumes v on v.id = r.volume_id
     where r.state = any($1) and v.state not in ('error', 'deleted') group by r.node_id`,
    [MEMBER_STATES],
  );
  return new Map(rows.map((r) => [r.node_id as string, Number(r.bytes)]));
}

/**
 * Serializes volume placement: a create chooses its nodes and inserts its copies under it, so the
 * next create's free space counts them. Held until the transaction ends.
 */
export async function lockPlacement(tx: Tx): Promise<void> {
  await tx.query('select pg_advisory_xact_lock(7233003)');
}

/** Nodes a new copy may go to: in service, heartbeat fresh, with their free space. */
export async function placementCandidates(db: Db | Tx): Promise<{ nodeId: string; domain: FailureDomain; freeBytes: number }[]> {
  const allocated = await allocatedBytesByNode(db);
  const { rows } = await db.query(`select ${COLUMNS} from nodes where state = 'in-service' and fresh_until > now() order by id`);
  return rows.map(toRow).map((n) => ({ nodeId: n.id, domain: n.domain, freeBytes: n.capacityBytes - (allocated.get(n.id) ?? 0) }));
}
