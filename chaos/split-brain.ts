// Split brain, judged from the nodes' operation logs: each node writes an `ack` line (volume,
// epoch) before acknowledging writes, at most one per volume every 100 ms. Two copies of one
// volume acknowledging at different epochs at the same time is split brain.

export interface AckLine {
  nodeId: string;
  volumeId: string;
  epoch: number;
  /** Milliseconds since the epoch. */
  at: number;
}

/**
 * A write mirrored to the secondary just before the secondary was promoted can be acknowledged
 * by the old primary a moment after the new one serves: the new primary holds that write, so it
 * is no divergence. One mirror round trip bounds that window.
 */
export const IN_FLIGHT_GRACE_MS = 1000;

export interface SplitBrainWrite {
  volumeId: string;
  older: { nodeId: string; epoch: number; at: number };
  newer: { nodeId: string; epoch: number; firstAt: number };
}

/** Every ack line at an older epoch later than another copy's first ack at a newer epoch (plus the grace). */
export function splitBrainWrites(lines: AckLine[]): SplitBrainWrite[] {
  const found: SplitBrainWrite[] = [];
  for (const [volumeId, acks] of groupBy(lines, (l) => l.volumeId)) {
    const firstAt = new Map<string, AckLine>(); // per node and epoch: the first ack line
    for (const l of acks) {
      const key = `${l.nodeId}@${l.epoch}`;
      const seen = firstAt.get(key);
      if (!seen || l.at < seen.at) firstAt.set(key, l);
    }
    for (const older of acks) {
      for (const newer of firstAt.values()) {
        if (newer.nodeId === older.nodeId || newer.epoch <= older.epoch) continue;
        if (older.at > newer.at + IN_FLIGHT_GRACE_MS) {
          found.push({
            volumeId,
            older: { nodeId: older.nodeId, epoch: older.epoch, at: older.at },
            newer: { nodeId: newer.nodeId, epoch: newer.epoch, firstAt: newer.at },
          });
        }
      }
    }
  }
  return found;
}

/** Ack lines out of one node's operations.jsonl text. */
export function ackLines(nodeId: string, operationsJsonl: string): AckLine[] {
  const out: AckLine[] = [];
  for (const text of operationsJsonl.split('\n')) {
    if (!text.includes('"op":"ack"')) continue;
    const o = JSON.parse(text) as { op: string; volumeId: string; epoch: number; at: string };
    out.push({ nodeId, volumeId: o.volumeId, epoch: o.epoch, at: Date.parse(o.at) });
  }
  return out;
}

function groupBy<T>(items: T[], key: (t: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) groups.set(key(item), [...(groups.get(key(item)) ?? []), item]);
  return groups;
}
