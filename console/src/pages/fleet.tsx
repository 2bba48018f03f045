// The fleet's health at the top (like `ceph -s`: ok, or warn/error with each reason and its count),
// then the fleet drawn by failure domain (dc → zone → router → power → host), each node coloured by
// state, with its used space and the copies it holds.
import type { FleetHealth, FleetNode, OperatorApi } from '../api';
import { bytes, when } from '../format';
import { Badge, Bar, Empty, ErrorNote, Loading, usePoll } from '../ui';

type Tree = Map<string, Tree | FleetNode[]>;

function group(nodes: FleetNode[]): Tree {
  const root: Tree = new Map();
  for (const n of nodes) {
    const parts = n.domainPath.split('/');
    let level = root;
    for (const part of parts.slice(0, 4)) {
      if (!level.has(part)) level.set(part, new Map());
      level = level.get(part) as Tree;
    }
    const host = parts[4] ?? n.nodeId;
    level.set(host, [...((level.get(host) as FleetNode[] | undefined) ?? []), n]);
  }
  return root;
}

const LEVELS = ['Data center', 'Zone', 'Router', 'Power', 'Host'];
const STATE_TEXT: Record<string, string> = { 'in-service': 'in service', down: 'down', recovering: 'recovering' };

function NodeCard({ node, copies, unreachable }: { node: FleetNode; copies: number; unreachable: boolean }) {
  const state = node.state === 'in-service' && unreachable ? 'down' : node.state;
  const text =
    node.state === 'in-service' && unreachable
      ? 'down (silent; not failed over during a mass outage)'
      : (STATE_TEXT[node.state] ?? node.state);
  return (
    <li class={`node node-${state}`}>
      <strong>{node.nodeId}</strong> <span class="state">{text}</span>
      <small>
        {bytes(node.allocatedBytes)} of {bytes(node.capacityBytes)} used · {copies} {copies === 1 ? 'copy' : 'copies'} · heard{' '}
        {when(node.lastHeartbeat)}
      </small>
    </li>
  );
}

function Level({ tree, depth, copies, unreachable }: { tree: Tree; depth: number; copies: Record<string, number>; unreachable: string[] }) {
  return (
    <ul class={`level level-${depth}`}>
      {[...tree].map(([name, child]) => (
        <li key={name}>
          <span class="domain">
            {LEVELS[depth]} {name}
          </span>
          {Array.isArray(child) ? (
            <ul class="nodes">
              {child.map((n) => (
                <NodeCard key={n.nodeId} node={n} copies={copies[n.nodeId] ?? 0} unreachable={unreachable.includes(n.nodeId)} />
              ))}
            </ul>
          ) : (
            <Level tree={child} depth={depth + 1} copies={copies} unreachable={unreachable} />
          )}
        </li>
      ))}
    </ul>
  );
}

const HEALTH_TEXT = { ok: 'OK', warn: 'Warning', error: 'Error' } as const;
const HEALTH_TONE = { ok: 'ok', warn: 'warn', error: 'bad' } as const;

/** The status in words (never by colour alone) and one line per reason, errors first. */
function HealthSummary({ health }: { health: FleetHealth }) {
  return (
    <section class={`health health-${health.status}`} aria-labelledby="health-title">
      <h2 id="health-title">
        Health: <Badge tone={HEALTH_TONE[health.status]}>{HEALTH_TEXT[health.status]}</Badge>
      </h2>
      {health.reasons.length === 0 ? (
        <p>Every volume has two in-service copies, every node is in service, and nothing is stuck.</p>
      ) : (
        <ul class="reasons">
          {health.reasons.map((r) => (
            <li key={r.code} class={`reason-${r.severity}`}>
              <span class="severity">{r.severity === 'error' ? 'Error' : 'Warning'}:</span> {r.message}
            </li>
          ))}
        </ul>
      )}
      <small>Checked {when(health.checkedAt)}</small>
    </section>
  );
}

export function FleetPage({ api }: { api: OperatorApi }) {
  const fleet = usePoll(() => Promise.all([api.fleet(), api.copies(), api.breaker(), api.health()]), 'fleet', 2000);
  const [f, c, b, h] = fleet.data ?? [null, null, null, null];
  const unreachable = b?.unreachableNodes ?? [];
  return (
    <section>
      <h1>Fleet</h1>
      {h && <HealthSummary health={h} />}
      <ErrorNote error={fleet.error} what="load the fleet" />
      {!f && !fleet.error && <Loading what="the fleet" />}
      {f && f.nodes.length === 0 && <Empty>No storage node has registered yet.</Empty>}
      {f && f.nodes.length > 0 && (
        <>
          <p class="legend">
            <span class="node-in-service">in service</span> <span class="node-recovering">recovering</span>{' '}
            <span class="node-down">down</span>
          </p>
          <Bar
            label="Nodes in service"
            value={f.nodes.filter((n) => n.state === 'in-service' && !unreachable.includes(n.nodeId)).length}
            max={f.summary.total}
          />
          <p>
            {Math.max(f.summary.down, unreachable.length)} down, {f.summary.recovering} recovering.
            {b?.open ? ' The mass-outage breaker is open: nothing is failed over until the nodes report.' : ''}
          </p>
          <Level tree={group(f.nodes)} depth={0} copies={c?.copies ?? {}} unreachable={unreachable} />
        </>
      )}
    </section>
  );
}
