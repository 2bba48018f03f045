// NBD cases: a handshake on a storage node's NBD port, in plaintext or after STARTTLS (or a broken
// TLS start, or past the pre-auth cap), with a valid, forged, expired or mutated grant (or no grant
// at all) as the export name, then a few requests. Pure.
import fc from 'fast-check';
import { CmdFlag, NbdCmd } from '../storage-node/protocol/nbd-constants.js';
import type { ExportName, NbdCase, NbdOp, NbdTransport, NodeRef } from './cases.js';
import { FIXTURE_VOLUMES, FIXTURE_VOLUME_BYTES, NODE_COUNT } from './routes.js';
import { hostileString } from './values.js';

const bytes = (min: number, max: number) => fc.record({ seed: fc.nat(), length: fc.integer({ min, max }) });

const exportName: fc.Arbitrary<ExportName> = fc.oneof(
  { arbitrary: fc.constant<ExportName>({ kind: 'grant', access: 'io', key: 'right', expired: false }), weight: 10 },
  { arbitrary: fc.constant<ExportName>({ kind: 'grant', access: 'review', key: 'right', expired: false }), weight: 2 },
  {
    arbitrary: fc
      .record({
        access: fc.constantFrom('io' as const, 'review' as const),
        key: fc.constantFrom('right' as const, 'wrong' as const, 'other-node' as const),
        expired: fc.boolean(),
      })
      .filter((g) => g.key !== 'right' || g.expired)
      .map((g): ExportName => ({ kind: 'grant', ...g })),
    weight: 4,
  },
  {
    arbitrary: fc
      .record({ at: fc.nat(400), char: fc.constantFrom('A', '.', '%', '\u0000', '=') })
      .map((m): ExportName => ({ kind: 'mutated-grant', ...m })),
    weight: 2,
  },
  { arbitrary: hostileString.map((text): ExportName => ({ kind: 'raw', text: text.slice(0, 5000) })), weight: 2 },
  { arbitrary: fc.constantFrom<ExportName>({ kind: 'volume-id' }, { kind: 'node-token' }, { kind: 'mirror-token' }), weight: 2 },
);

const transport: fc.Arbitrary<NbdTransport> = fc.oneof(
  { arbitrary: fc.constant<NbdTransport>({ kind: 'plain' }), weight: 6 },
  { arbitrary: fc.boolean().map((twice): NbdTransport => ({ kind: 'tls', twice })), weight: 4 },
  { arbitrary: bytes(1, 300).map((b): NbdTransport => ({ kind: 'tls-garbage', bytes: b })), weight: 1 },
  {
    arbitrary: fc
      .record({ cut: fc.integer({ min: 1, max: 600 }), hangUp: fc.boolean() })
      .map((t): NbdTransport => ({ kind: 'tls-truncated', ...t })),
    weight: 1,
  },
  { arbitrary: fc.constant<NbdTransport>({ kind: 'tls-injected' }), weight: 1 },
  { arbitrary: bytes(1, 64).map((b): NbdTransport => ({ kind: 'tls-data', bytes: b })), weight: 1 },
  { arbitrary: fc.integer({ min: 1, max: 8 }).map((extra): NbdTransport => ({ kind: 'preauth-flood', extra })), weight: 1 },
);

/** A start that must never reach transmission: the node closes it. */
export const BROKEN_TLS_STARTS: NbdTransport['kind'][] = ['tls-garbage', 'tls-truncated', 'tls-injected'];

const inRange = fc
  .integer({ min: 1, max: 128 * 1024 })
  .chain((length) => fc.integer({ min: 0, max: FIXTURE_VOLUME_BYTES - length }).map((offset) => ({ offset, length })));

const op: fc.Arbitrary<NbdOp> = fc.oneof(
  { arbitrary: inRange.map(({ offset, length }): NbdOp => ({ op: 'read', offset, length })), weight: 6 },
  {
    arbitrary: fc.tuple(inRange, fc.nat()).map(([{ offset, length }, seed]): NbdOp => ({ op: 'write', offset, bytes: { seed, length } })),
    weight: 4,
  },
  {
    arbitrary: fc
      .record({
        command: fc.constantFrom(NbdCmd.READ, NbdCmd.FLUSH, NbdCmd.CACHE, NbdCmd.BLOCK_STATUS, 9, 0xffff),
        flags: fc.constantFrom(0, CmdFlag.FUA, CmdFlag.DF, 0xffff),
        offset: fc.constantFrom(0, FIXTURE_VOLUME_BYTES - 1, FIXTURE_VOLUME_BYTES, FIXTURE_VOLUME_BYTES + 4096, 2 ** 40),
        length: fc.constantFrom(0, 1, 4096, (32 << 20) + 1, 0xffffffff),
      })
      .map((c): NbdOp => ({ op: 'cmd', ...c })),
    weight: 3,
  },
  { arbitrary: bytes(1, 64).map((b): NbdOp => ({ op: 'garbage', bytes: b })), weight: 1 },
);

function expectation(
  name: ExportName,
  option: NbdCase['option'],
  node: NodeRef,
  how: NbdTransport,
): { expect: NbdCase['expect']; why: string[] } {
  const why: string[] = [];
  if (BROKEN_TLS_STARTS.includes(how.kind)) why.push(`broken TLS start (${how.kind})`);
  if (name.kind !== 'grant') why.push(`export name ${name.kind}`);
  else if (name.key !== 'right') why.push(`grant signed with the ${name.key} key`);
  else if (name.expired) why.push('expired grant');
  else if (node.kind === 'secondary' && name.access === 'io') why.push('io grant on a node that is not the primary');
  if (option === 'list' || option === 'unknown-option' || option === 'garbage') why.push(`option ${option}`);
  return { expect: why.length ? 'invalid' : 'any', why };
}

const nodeRef = (slot: number): fc.Arbitrary<NodeRef> =>
  fc.oneof(
    { arbitrary: fc.constant<NodeRef>({ kind: 'primary', slot }), weight: 8 },
    { arbitrary: fc.constant<NodeRef>({ kind: 'secondary', slot }), weight: 1 },
    { arbitrary: fc.nat(NODE_COUNT - 1).map((index): NodeRef => ({ kind: 'index', index })), weight: 1 },
  );

export function nbdCase(index: number): fc.Arbitrary<NbdCase> {
  return fc.nat(FIXTURE_VOLUMES - 1).chain((slot) =>
    fc
      .record({
        node: nodeRef(slot),
        transport,
        option: fc.oneof(
          { arbitrary: fc.constant('go' as const), weight: 8 },
          {
            arbitrary: fc.constantFrom(
              'export-name' as const,
              'info' as const,
              'list' as const,
              'unknown-option' as const,
              'garbage' as const,
            ),
            weight: 2,
          },
        ),
        exportName,
        ops: fc.array(op, { minLength: 0, maxLength: 4 }),
      })
      .map((c): NbdCase => ({
        type: 'nbd',
        index,
        volume: { kind: 'own', slot },
        ...c,
        ...expectation(c.exportName, c.option, c.node, c.transport),
      })),
  );
}
