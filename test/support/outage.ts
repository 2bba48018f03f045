// A power-domain outage of both copies of a volume (as in power-domain-outage.test.ts): both
// power domains lose power and return; the volume is restored read-only and awaits a decision.
import { copiesOf, eventually, powerOf, type TestCluster } from './test-cluster.js';

export interface Outage {
  /** The node holding the restored copy. */
  winner: string;
  /** Every node that lost power. */
  killed: string[];
}

/** Kills both copies' power domains, without starting them again. */
export async function powerOffBothCopies(t: TestCluster, volumeId: string): Promise<string[]> {
  const powers = [...new Set((await copiesOf(t, volumeId)).map((c) => powerOf(t, c.nodeId)))];
  return (await Promise.all(powers.map((p) => t.cluster.powerFail('power', p)))).flat();
}

/** Starts the nodes again and waits until the volume's review asks for a decision. */
export async function restoreAndAwaitReview(t: TestCluster, volumeId: string, killed: string[]): Promise<Outage> {
  await Promise.all(killed.map((n) => t.cluster.startNode(n)));
  await eventually('the volume awaiting a decision', async () => (await t.customer.status(volumeId)).actions.length > 0, 120_000);
  const winner = (await copiesOf(t, volumeId)).find((c) => c.state === 'restored')!.nodeId;
  return { winner, killed };
}
