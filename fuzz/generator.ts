// The pure generator: case `index` of run `seed` is a function of those two numbers alone, so
// any failing case replays (`--seed S --only K`). Fixture objects are named symbolically
// (fuzz/cases.ts) and resolved against the live cluster by the runner.
import fc from 'fast-check';
import type { Body, Credential, CustomerRef, FuzzCase, HttpCase, NodeIdRef, NodeRef, SnapshotRef, VolumeRef } from './cases.js';
import { jsonBody, queryOf, encodeQuery, type Mutated } from './mutate.js';
import { nbdCase } from './nbd-cases.js';
import { FIXTURE_VOLUMES, FIXTURE_VOLUME_BYTES, NODE_COUNT, ROUTES, type QuerySpec, type RouteSpec } from './routes.js';
import { hostileSegment } from './values.js';

/** The case at `index` of the run with `seed`. */
export function generateCase(seed: number, index: number): FuzzCase {
  const [c] = fc.sample(caseArb(index), { seed: mixSeed(seed, index), numRuns: 1 });
  return c!;
}

/** A 32-bit seed for one case, from the run's seed and the case's index. */
export function mixSeed(seed: number, index: number): number {
  let h = (seed ^ 0x9e3779b9) >>> 0;
  h = Math.imul(h ^ (index + 0x7f4a7c15), 0x85ebca6b) >>> 0;
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35) >>> 0;
  return (h ^ (h >>> 16)) | 0;
}

function caseArb(index: number): fc.Arbitrary<FuzzCase> {
  return fc.oneof({ arbitrary: httpCase(index), weight: 9 }, { arbitrary: nbdCase(index), weight: 1 });
}

const route: fc.Arbitrary<RouteSpec> = fc.oneof(...ROUTES.map((r) => ({ arbitrary: fc.constant(r), weight: r.weight })));

/** The credentials tried on a route besides its own. */
function otherCredentials(r: RouteSpec): Credential[] {
  if (r.auth === 'none') return ['none'];
  if (r.service === 'node') {
    if (r.auth === 'grant-valid') return ['grant-expired', 'grant-forged', 'grant-other-node', 'grant-io', 'node-own', 'none', 'garbage'];
    if (r.auth === 'mirror-right') return ['mirror-wrong-volume', 'node-own', 'node-other', 'none', 'garbage'];
    return ['node-other', 'none', 'garbage', 'grant-valid', 'mirror-right', 'owner'];
  }
  if (r.auth === 'owner') return ['other-tenant', 'other-tenant', 'none', 'garbage', 'operator', 'node-own', 'join'];
  if (r.auth === 'operator') return ['owner', 'none', 'garbage', 'node-own', 'join'];
  if (r.auth === 'join') return ['node-own', 'owner', 'operator', 'none', 'garbage'];
  return ['node-other', 'owner', 'operator', 'join', 'none', 'garbage'];
}

function credentialOf(r: RouteSpec): fc.Arbitrary<Credential> {
  const others = otherCredentials(r).filter((c) => c !== r.auth);
  if (!others.length || (r.guard === 'never' && r.auth !== 'none')) return others.length ? fc.constantFrom(...others) : fc.constant(r.auth);
  return fc.oneof({ arbitrary: fc.constant(r.auth), weight: 16 }, { arbitrary: fc.constantFrom(...others), weight: 5 });
}

const slot = fc.nat(FIXTURE_VOLUMES - 1);

function volumeRef(r: RouteSpec, cred: Credential): fc.Arbitrary<VolumeRef> {
  const noFixture = r.guard === 'no-fixture' && (cred === r.auth || cred === 'other-tenant' || r.service === 'node');
  const refs: { arbitrary: fc.Arbitrary<VolumeRef>; weight: number }[] = [
    // A node's copy of a volume is never deleted behind the control plane's back: not even a scratch one.
    { arbitrary: fc.constant({ kind: 'scratch' }), weight: noFixture ? (r.service === 'node' ? 0 : 8) : 1 },
    { arbitrary: fc.constant({ kind: 'missing' }), weight: 2 },
    { arbitrary: hostileSegment.map((raw) => ({ kind: 'hostile' as const, raw })), weight: 2 },
  ];
  if (!noFixture)
    refs.push(
      { arbitrary: slot.map((s) => ({ kind: 'own', slot: s })), weight: 12 },
      { arbitrary: slot.map((s) => ({ kind: 'foreign', slot: s })), weight: 3 },
    );
  else if (r.service === 'api' && cred !== 'other-tenant')
    refs.push({ arbitrary: slot.map((s) => ({ kind: 'foreign', slot: s })), weight: 3 });
  return fc.oneof(...refs.filter((x) => x.weight > 0));
}

function snapshotRef(r: RouteSpec, cred: Credential): fc.Arbitrary<SnapshotRef> {
  const noFixture = r.guard === 'no-fixture';
  const refs: fc.Arbitrary<SnapshotRef>[] = [
    fc.constant({ kind: 'latest' }),
    fc.constant({ kind: 'missing' }),
    hostileSegment.map((raw) => ({ kind: 'hostile' as const, raw })),
  ];
  if (!noFixture || cred !== 'owner') refs.push(fc.constant({ kind: 'own' }));
  if (!noFixture || cred !== 'other-tenant') refs.push(fc.constant({ kind: 'foreign' }), fc.constant({ kind: 'foreign' }));
  return fc.oneof(...refs);
}

const customerRef: fc.Arbitrary<CustomerRef> = fc.oneof(
  fc.constant({ kind: 'owner' }),
  fc.constant({ kind: 'other' }),
  fc.constant({ kind: 'missing' }),
  hostileSegment.map((raw) => ({ kind: 'hostile' as const, raw })),
);
const nodeIdRef: fc.Arbitrary<NodeIdRef> = fc.oneof(
  { arbitrary: fc.nat(NODE_COUNT - 1).map((index) => ({ kind: 'index' as const, index })), weight: 4 },
  { arbitrary: hostileSegment.map((raw) => ({ kind: 'hostile' as const, raw })), weight: 1 },
);

/** The node a storage-node request goes to: mostly a copy of the volume in the path. */
function nodeRefFor(id: VolumeRef): fc.Arbitrary<NodeRef> {
  const s = id.kind === 'own' ? id.slot : 0;
  return fc.oneof(
    { arbitrary: fc.constantFrom<NodeRef>({ kind: 'primary', slot: s }, { kind: 'secondary', slot: s }), weight: 4 },
    { arbitrary: fc.nat(NODE_COUNT - 1).map((index): NodeRef => ({ kind: 'index', index })), weight: 1 },
  );
}

interface Targets {
  params: HttpCase['params'];
  node?: NodeRef;
}

function targets(r: RouteSpec, cred: Credential): fc.Arbitrary<Targets> {
  const id = r.path.includes(':id') ? volumeRef(r, cred).map((v) => v as VolumeRef | undefined) : fc.constant(undefined);
  return fc
    .record({
      id,
      sid: r.path.includes(':sid') ? snapshotRef(r, cred).map((s) => s as SnapshotRef | undefined) : fc.constant(undefined),
      customerId: r.path.includes(':customerId') ? customerRef.map((c) => c as CustomerRef | undefined) : fc.constant(undefined),
      nodeId: r.path.includes(':nodeId') ? nodeIdRef.map((n) => n as NodeIdRef | undefined) : fc.constant(undefined),
    })
    .chain((p) => {
      const params = Object.fromEntries(Object.entries(p).filter(([, v]) => v !== undefined)) as HttpCase['params'];
      if (r.service !== 'node') return fc.constant({ params });
      return nodeRefFor(p.id ?? { kind: 'missing' }).map((node) => ({ params, node }));
    });
}

/** Why a request is refused whatever its inputs: the credential, the target. */
function refusalsOf(r: RouteSpec, cred: Credential, t: Targets): string[] {
  const why: string[] = [];
  if (cred !== r.auth && !(r.auth === 'owner' && cred === 'other-tenant')) why.push(`credential ${cred} on a ${r.auth} route`);
  const { id, sid, customerId, nodeId } = t.params;
  const nodeDelete = r.name === 'sn.delete';
  if (id && (id.kind === 'missing' || id.kind === 'hostile') && !nodeDelete) why.push(`volume ${id.kind}`);
  if (id?.kind === 'scratch' && cred === 'other-tenant') why.push("another tenant's volume");
  if (
    r.service === 'api' &&
    id &&
    (id.kind === 'foreign') !== (cred === 'other-tenant') &&
    id.kind !== 'missing' &&
    id.kind !== 'hostile' &&
    id.kind !== 'scratch'
  ) {
    why.push("another tenant's volume");
  }
  if (sid && (sid.kind === 'missing' || sid.kind === 'hostile')) why.push(`snapshot ${sid.kind}`);
  if (sid && sid.kind !== 'missing' && sid.kind !== 'hostile' && (sid.kind === 'foreign') !== (cred === 'other-tenant'))
    why.push("another tenant's snapshot");
  if (customerId && (customerId.kind === 'missing' || customerId.kind === 'hostile')) why.push(`customer ${customerId.kind}`);
  if (nodeId?.kind === 'hostile') why.push('hostile node id');
  if (r.name === 'sn.write' && t.node?.kind === 'secondary' && cred === 'node-own') why.push('a direct write to a secondary');
  return why;
}

function bodyOf(r: RouteSpec, mustBreak: boolean): fc.Arbitrary<Mutated<Body>> {
  if (r.json) return jsonBody(r.json, mustBreak);
  if (r.binary === 'data') return dataBody;
  if (r.binary) {
    const forms = mustBreak
      ? fc.constantFrom('truncated' as const, 'garbage' as const)
      : fc.constantFrom('valid' as const, 'truncated' as const, 'garbage' as const);
    return fc.tuple(forms, byteSpec(1, 8192)).map(([form, bytes]) => ({
      value: { kind: 'replication', message: r.binary as 'mirror' | 'range' | 'finish', form, bytes },
      why: form === 'valid' ? null : `${form} replication message`,
    }));
  }
  return fc.oneof(
    { arbitrary: fc.constant({ value: { kind: 'none' } as Body, why: null }), weight: 9 },
    { arbitrary: fc.jsonValue().map((value) => ({ value: { kind: 'json', value } as Body, why: null })), weight: 1 },
  );
}

export const byteSpec = (min: number, max: number) => fc.record({ seed: fc.nat(), length: fc.integer({ min, max }) });

const dataBody: fc.Arbitrary<Mutated<Body>> = fc.oneof(
  { arbitrary: byteSpec(1, 64 * 1024).map((bytes) => ({ value: { kind: 'bytes', bytes } as Body, why: null })), weight: 12 },
  { arbitrary: fc.constant({ value: { kind: 'none' } as Body, why: 'an empty write' }), weight: 1 },
  {
    arbitrary: fc.constant({ value: { kind: 'bytes', bytes: { seed: 1, length: (4 << 20) + 1 } } as Body, why: 'a write over 4 MiB' }),
    weight: 1,
  },
);

/** Ranges past the end of a fixture volume, of length 0, or over 4 MiB. */
const badRange: fc.Arbitrary<Mutated<[string, string][]>> = fc.oneof(
  fc.tuple(fc.integer({ min: 1, max: 8192 }), fc.integer({ min: 1, max: 8192 })).map(([back, len]) => ({
    value: [
      ['offset', String(FIXTURE_VOLUME_BYTES - back)],
      ['length', String(back + len)],
    ] as [string, string][],
    why: 'range past the end',
  })),
  fc.nat(FIXTURE_VOLUME_BYTES).map((o) => ({
    value: [
      ['offset', String(o)],
      ['length', '0'],
    ] as [string, string][],
    why: 'zero length',
  })),
  fc.constant({
    value: [
      ['offset', '0'],
      ['length', String((4 << 20) + 1)],
    ] as [string, string][],
    why: 'over 4 MiB',
  }),
  fc.constant({
    value: [
      ['offset', String(2 ** 53)],
      ['length', '1'],
    ] as [string, string][],
    why: 'offset past 2^53',
  }),
);

function queryFor(r: RouteSpec, mustBreak: boolean, t: Targets): fc.Arbitrary<Mutated<[string, string][]>> {
  const spec: QuerySpec = r.query ?? {
    valid: fc.constant({}),
    mustHave: [],
    strict: r.service === 'api' && r.name !== 'volume.attach',
    counts: [],
  };
  const q = queryOf(spec, mustBreak);
  const onFixture = t.params.id?.kind === 'own';
  if (r.query?.mustHave.includes('length') && onFixture && !mustBreak)
    return fc.oneof({ arbitrary: q, weight: 8 }, { arbitrary: badRange, weight: 2 });
  return q;
}

/** A snapshot id for the node's snapshot route: malformed whenever it goes with the node's own token. */
function snapshotIdParam(mustBreak: boolean): fc.Arbitrary<string> {
  const bad = fc.constantFrom('%2F..', '.', '..', 'a'.repeat(81), 'snap%00', 'snap.x', '%20');
  return mustBreak ? bad : fc.oneof(bad, fc.constant('snap-fuzz'));
}

function httpCase(index: number): fc.Arbitrary<HttpCase> {
  return route.chain((r) =>
    credentialOf(r).chain((credential) =>
      targets(r, credential).chain((t) => {
        const refused = refusalsOf(r, credential, t);
        const mustBreak = r.guard === 'break' && credential === r.auth;
        const hasInput = !!(r.json || r.binary || r.query);
        const breakBody = mustBreak && !!(r.json || r.binary);
        const breakQuery = mustBreak && !breakBody && !!r.query;
        return fc
          .record({
            body: bodyOf(r, breakBody),
            query: queryFor(r, breakQuery, t),
            snapshotId: snapshotIdParam(mustBreak && !hasInput),
          })
          .map(({ body, query, snapshotId }): HttpCase => {
            const why = [...refused, ...[body.why, query.why].filter((w): w is string => w !== null)];
            if (r.name === 'sn.snapshot' && snapshotId !== 'snap-fuzz') why.push(`malformed snapshot id ${snapshotId}`);
            const params = r.name === 'sn.snapshot' ? { ...t.params, snapshotId } : t.params;
            return {
              type: 'http',
              index,
              route: r.name,
              service: r.service,
              method: r.method,
              path: r.path,
              params,
              node: t.node,
              query: encodeQuery(query.value),
              body: body.value,
              credential,
              expect: why.length ? 'invalid' : 'any',
              why,
            };
          });
      }),
    ),
  );
}
