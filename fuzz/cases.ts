// What the generator produces: a request described symbolically (which fixture volume, which
// kind of credential, which body), so a case is a pure function of (seed, index) and the runner
// resolves it against the live cluster (fuzz/resolve.ts).

/** A volume in a path: the owner's fixture volumes, the latest one the fuzzer created, another tenant's, none, or a hostile segment. */
export type VolumeRef =
  | { kind: 'own'; slot: number }
  | { kind: 'scratch' }
  | { kind: 'foreign'; slot: number }
  | { kind: 'missing' }
  | { kind: 'hostile'; raw: string };

/** A snapshot in a path: the owner's fixture snapshot, its latest created one, another tenant's, none, or hostile. */
export type SnapshotRef =
  { kind: 'own' } | { kind: 'latest' } | { kind: 'foreign' } | { kind: 'missing' } | { kind: 'hostile'; raw: string };

/** A customer in an operator path. */
export type CustomerRef = { kind: 'owner' } | { kind: 'other' } | { kind: 'missing' } | { kind: 'hostile'; raw: string };

/** Which storage node a node request goes to: a volume's primary or secondary, or a node by index. */
export type NodeRef = { kind: 'primary' | 'secondary'; slot: number } | { kind: 'index'; index: number };

/** A node id in a control-plane node path (/v1/nodes/:nodeId/...). */
export type NodeIdRef = { kind: 'index'; index: number } | { kind: 'hostile'; raw: string };

export type Credential =
  | 'owner' // the owner tenant's API key
  | 'other-tenant' // the other tenant's API key
  | 'operator'
  | 'node-own' // the token of the node addressed (or named in the path)
  | 'node-other' // another node's token
  | 'join'
  | 'mirror-right' // a volume mirror token for this volume and its epoch on this node
  | 'mirror-wrong-volume' // a valid mirror token for another volume on this node
  | 'grant-valid' // a review grant for this volume on this node, signed with its token
  | 'grant-expired'
  | 'grant-forged' // signed with a wrong key
  | 'grant-other-node' // signed by another node, naming that node
  | 'grant-io' // a valid grant of the wrong access (io) on the review route
  | 'none'
  | 'garbage';

/** Bytes described by a seed and a length; the runner expands them (fuzz/bytes.ts). */
export interface ByteSpec {
  seed: number;
  length: number;
}

export type Body =
  | { kind: 'none' }
  | { kind: 'json'; value: unknown; contentType?: string }
  | { kind: 'text'; text: string; contentType: string }
  | { kind: 'bytes'; bytes: ByteSpec }
  /** A replication message: valid for `volume` at its epoch, or truncated / garbage. */
  | { kind: 'replication'; message: 'mirror' | 'range' | 'finish'; form: 'valid' | 'truncated' | 'garbage'; bytes: ByteSpec };

export interface HttpCase {
  type: 'http';
  index: number;
  route: string;
  service: 'api' | 'node';
  method: string;
  /** The route's path with its parameters, each resolved by name. */
  path: string;
  params: { id?: VolumeRef; sid?: SnapshotRef; customerId?: CustomerRef; nodeId?: NodeIdRef; snapshotId?: string };
  /** For node routes: which node. */
  node?: NodeRef;
  /** The query string as sent (already encoded), without '?'. */
  query: string;
  body: Body;
  credential: Credential;
  /** 'invalid': by construction the request must be refused with a 4xx; 'any': the oracles only. */
  expect: 'invalid' | 'any';
  /** Why it is invalid, for the report. */
  why: string[];
}

/** What an NBD client does after (or instead of) a successful handshake. */
export type NbdOp =
  | { op: 'read'; offset: number; length: number }
  | { op: 'write'; offset: number; bytes: ByteSpec }
  | { op: 'cmd'; command: number; flags: number; offset: number; length: number }
  | { op: 'garbage'; bytes: ByteSpec };

export type ExportName =
  | { kind: 'grant'; access: 'io' | 'review'; key: 'right' | 'wrong' | 'other-node'; expired: boolean }
  | { kind: 'mutated-grant'; at: number; char: string }
  | { kind: 'raw'; text: string }
  | { kind: 'volume-id' }
  | { kind: 'node-token' }
  | { kind: 'mirror-token' };

/**
 * What carries the session (the nodes run NODE_NBD_TLS=optional): plaintext; STARTTLS first (and
 * `twice`: once more over TLS, which must be ERR_INVALID); a broken start — garbage or a ClientHello
 * cut at `cut` bytes after the ACK (then hung up, or left open past the handshake deadline), the
 * case's option sent in plaintext right behind STARTTLS, STARTTLS carrying data; or the session
 * followed by idle connections `extra` past the node's pre-auth cap.
 */
export type NbdTransport =
  | { kind: 'plain' }
  | { kind: 'tls'; twice: boolean }
  | { kind: 'tls-garbage'; bytes: ByteSpec }
  | { kind: 'tls-truncated'; cut: number; hangUp: boolean }
  | { kind: 'tls-injected' }
  | { kind: 'tls-data'; bytes: ByteSpec }
  | { kind: 'preauth-flood'; extra: number };

export interface NbdCase {
  type: 'nbd';
  index: number;
  node: NodeRef;
  volume: VolumeRef;
  transport: NbdTransport;
  option: 'go' | 'export-name' | 'info' | 'list' | 'unknown-option' | 'garbage';
  exportName: ExportName;
  ops: NbdOp[];
  expect: 'invalid' | 'any';
  why: string[];
}

export type FuzzCase = HttpCase | NbdCase;

/** A one-line description of a case, for the report and progress. */
export function describeCase(c: FuzzCase): string {
  if (c.type === 'nbd') {
    const ops = c.ops.map((o) => o.op).join(',') || '-';
    return `NBD ${c.transport.kind}${c.transport.kind === 'tls' && c.transport.twice ? '(twice)' : ''} ${c.option} export=${c.exportName.kind}${c.exportName.kind === 'grant' ? `(${c.exportName.access},${c.exportName.key}${c.exportName.expired ? ',expired' : ''})` : ''} node=${nodeRefText(c.node)} ops=${ops}`;
  }
  const q = c.query ? `?${c.query.slice(0, 80)}` : '';
  return `${c.method} ${c.service}:${c.path}${q} cred=${c.credential} params=${JSON.stringify(c.params).slice(0, 120)} body=${c.body.kind}`;
}

function nodeRefText(n: NodeRef): string {
  return n.kind === 'index' ? `#${n.index}` : `${n.kind}(own ${n.slot})`;
}
