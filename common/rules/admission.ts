// The admission bound on server recoveries: a fleet outage recovers a bounded number of nodes at
// once; the others are told to report again later.

/** A new server recovery may start while fewer than `maxConcurrentRecoveries` nodes recover. */
export function admitsRecovery(recoveringNodes: number, maxConcurrentRecoveries: number): boolean {
  return recoveringNodes < maxConcurrentRecoveries;
}
