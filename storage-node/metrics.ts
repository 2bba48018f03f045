// A storage node's /metrics: what its I/O gates hold (requests and bytes waiting for a decision
// or a move), its copies by I/O state and mode, whether it is recovering, and its NBD
// connections (those refused before presenting a grant, and whether TLS carried each session),
// writes acknowledged and the syncs that covered them; plus request latency (common/metrics.ts).
import { Counter, Gauge, type Registry } from 'prom-client';
import { newRegistry } from '../common/metrics.js';
import type { NodeService } from './node-service.js';
import type { NodeStore } from './store/node-store.js';
import type { NbdExport, NbdExports } from './transport/nbd-server.js';
import { PreAuthLimit, type PreAuthCaps } from './transport/pre-auth-limit.js';

export interface NodeMetrics {
  registry: Registry;
  /** Wraps the node's NBD exports so that every connection that transmits is counted until it closes. */
  countConnections<E extends NbdExport>(exports: NbdExports<E>): NbdExports<E>;
  /** The bound on NBD connections before a grant, its connections and refusals counted. */
  preAuthLimit(caps: PreAuthCaps): PreAuthLimit;
  /** Counts a replication request a peer made, by whether TLS carried it. */
  countReplication(tls: boolean): void;
}

function gauge(registry: Registry, name: string, help: string, collect: (g: Gauge) => void, labelNames: string[] = []): void {
  new Gauge({
    name,
    help,
    labelNames,
    registers: [registry],
    collect() {
      collect(this);
    },
  });
}

/** A counter read from a running total at each scrape. */
function counter(registry: Registry, name: string, help: string, total: () => number): void {
  let reported = 0;
  new Counter({
    name,
    help,
    registers: [registry],
    collect() {
      const now = total();
      this.inc(now - reported);
      reported = now;
    },
  });
}

function heldTotals(store: NodeStore): { requests: number; bytes: number } {
  let requests = 0;
  let bytes = 0;
  for (const { gate } of store.volumes.values()) {
    requests += gate.heldCount;
    bytes += gate.heldByteCount;
  }
  return { requests, bytes };
}

function copiesBy(store: NodeStore, g: Gauge): void {
  g.reset();
  for (const { volume } of store.volumes.values()) g.inc({ io_state: volume.meta.ioState, mode: volume.meta.mode, role: volume.meta.role });
}

export function nodeMetrics(nodeId: string, store: NodeStore, service: NodeService): NodeMetrics {
  const registry = newRegistry('storage-node');
  registry.setDefaultLabels({ process: 'storage-node', node: nodeId });
  gauge(registry, 'blackstart_node_held_requests', 'Requests held (neither answered nor failed) by paused copies on this node', (g) =>
    g.set(heldTotals(store).requests),
  );
  gauge(registry, 'blackstart_node_held_bytes', 'Bytes of the requests held on this node', (g) => g.set(heldTotals(store).bytes));
  gauge(registry, 'blackstart_node_copies', 'Volume copies on this node by I/O state, mode and role', (g) => copiesBy(store, g), [
    'io_state',
    'mode',
    'role',
  ]);
  gauge(registry, 'blackstart_node_recovering', '1 while the node recovers from an unclean shutdown (I/O held, reporting)', (g) =>
    g.set(service.recovering ? 1 : 0),
  );
  counter(
    registry,
    'blackstart_node_acknowledged_writes_total',
    'Writes this node acknowledged as primary',
    () => service.commitCounts.writes,
  );
  counter(
    registry,
    'blackstart_node_write_syncs_total',
    'Syncs that made primary writes durable; one covers a batch',
    () => service.commitCounts.syncs,
  );
  let connections = 0;
  gauge(registry, 'blackstart_node_nbd_connections', 'NBD connections transmitting to this node', (g) => g.set(connections));
  const sessions = new Counter({
    name: 'blackstart_node_nbd_sessions_total',
    help: 'NBD connections that entered transmission, by whether TLS carried them',
    labelNames: ['tls'],
    registers: [registry],
  });
  const replication = new Counter({
    name: 'blackstart_node_replication_requests_total',
    help: 'Mirror and rebuild requests peers made to this node, by whether mutual TLS carried them',
    labelNames: ['tls'],
    registers: [registry],
  });
  return {
    registry,
    countReplication: (tls) => replication.inc({ tls: String(tls) }),
    countConnections(exports) {
      return {
        ...exports,
        open(name, transmit, session) {
          const exp = exports.open(name, transmit, session);
          if (exp && transmit) {
            connections++;
            sessions.inc({ tls: String(session?.tls ?? false) });
          }
          return exp;
        },
        closed(exp) {
          connections--;
          exports.closed?.(exp);
        },
      };
    },
    preAuthLimit(caps) {
      const refused = new Counter({
        name: 'blackstart_node_nbd_preauth_refused_total',
        help: 'NBD connections closed at once because too many had not presented a grant yet (in total, or from one source address)',
        labelNames: ['reason'],
        registers: [registry],
      });
      const limit = new PreAuthLimit(caps, (reason) => refused.inc({ reason }));
      gauge(registry, 'blackstart_node_nbd_preauth_connections', 'NBD connections in handshake that have not presented a grant yet', (g) =>
        g.set(limit.pending),
      );
      return limit;
    },
  };
}
