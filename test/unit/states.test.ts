// The state tables: every state has a row, every move names a state, every state is reachable
// from where rows start, and the schema's checks accept exactly these states.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MIGRATIONS } from '../../api/repositories/migrations.js';
import { canTransition, MEMBER_STATES, NODE_TRANSITIONS, REPLICA_TRANSITIONS, VOLUME_TRANSITIONS } from '../../common/states.js';

const tables = [
  { name: 'volumes', table: VOLUME_TRANSITIONS as Record<string, string[]>, start: ['creating'] },
  { name: 'nodes', table: NODE_TRANSITIONS as Record<string, string[]>, start: ['in-service'] },
  { name: 'replicas', table: REPLICA_TRANSITIONS as Record<string, string[]>, start: ['in-service', 'rebuilding'] },
];

/** The states the last migration touching `table`'s state check allows. */
function schemaStates(table: string): string[] {
  const sql = MIGRATIONS.map((m) => m.sql).join('\n');
  const checks = [...sql.matchAll(/(create table (\w+)|alter table (\w+))[^;]*?check \(state in \(([^)]*)\)\)/g)].filter(
    (m) => (m[2] ?? m[3]) === table,
  );
  return [...checks.at(-1)![4]!.matchAll(/'([^']+)'/g)].map((m) => m[1]!);
}

describe.each(tables)('$name state table', ({ name, table, start }) => {
  const states = Object.keys(table);

  it('has exactly the states the schema accepts', () => {
    expect([...states].sort()).toEqual(schemaStates(name).sort());
  });

  it('moves only to known states, never to itself', () => {
    for (const [from, tos] of Object.entries(table)) {
      for (const to of tos) expect(states, `${from} → ${to}`).toContain(to);
      expect(tos).not.toContain(from);
    }
  });

  it('reaches every state from where rows start', () => {
    const seen = new Set(start);
    for (let grew = true; grew;) {
      grew = false;
      for (const from of [...seen]) for (const to of table[from]!) if (!seen.has(to)) grew = seen.add(to).size > 0;
    }
    expect([...seen].sort()).toEqual([...states].filter((s) => s !== 'in-use' || name !== 'volumes').sort());
  });

  it('canTransition answers the table, and allows re-writing the same state', () => {
    fc.assert(
      fc.property(fc.constantFrom(...states), fc.constantFrom(...states), (from, to) => {
        expect(canTransition(table, from, to)).toBe(from === to || table[from]!.includes(to));
      }),
    );
  });
});

describe('replica membership', () => {
  it('keeps every state but stale and deleted', () => {
    expect([...MEMBER_STATES].sort()).toEqual(
      Object.keys(REPLICA_TRANSITIONS)
        .filter((s) => s !== 'stale' && s !== 'deleted')
        .sort(),
    );
  });
});
