// Operator stories: customers and keys, the fleet, recoveries, admission settings.
import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { formatDomainPath } from '../../common/failure-domain.js';
import { createCustomer } from '../repositories/customers.js';
import { admissionQueue, allocatedBytesByNode, countNodesInState, listNodes, totalRejections } from '../repositories/nodes.js';
import { readThrottle, writeThrottle } from '../repositories/settings.js';
import { listRecoveries } from '../repositories/recoveries.js';
import type { Deps } from './deps.js';

export const CreateCustomerBody = z.strictObject({ name: z.string().min(1).max(200) });

export async function addCustomer(deps: Deps, body: z.infer<typeof CreateCustomerBody>) {
  const customerId = `cust-${randomBytes(6).toString('hex')}`;
  const apiKey = `bsk_${randomBytes(24).toString('base64url')}`;
  await createCustomer(deps.db, customerId, body.name, apiKey);
  return { customerId, name: body.name, apiKey };
}

export async function fleet(deps: Deps) {
  const allocated = await allocatedBytesByNode(deps.db);
  const nodes = (await listNodes(deps.db)).map((n) => ({
    nodeId: n.id,
    url: n.url,
    domainPath: formatDomainPath(n.domain),
    state: n.state,
    capacityBytes: n.capacityBytes,
    allocatedBytes: allocated.get(n.id) ?? 0,
    lastHeartbeat: n.lastHeartbeat.toISOString(),
  }));
  const byState = (s: string) => nodes.filter((n) => n.state === s).length;
  return {
    nodes,
    summary: { total: nodes.length, inService: byState('in-service'), down: byState('down'), recovering: byState('recovering') },
  };
}

export async function recoveries(deps: Deps, limit: number) {
  return (await listRecoveries(deps.db, limit)).map((r) => ({
    workflowId: r.workflowId,
    nodeId: r.nodeId,
    replicas: r.replicas,
    admittedAt: r.admittedAt.toISOString(),
    inServiceAt: r.inServiceAt?.toISOString() ?? null,
    nodeDowntimeToServiceSeconds: r.inServiceAt ? (r.inServiceAt.getTime() - r.admittedAt.getTime()) / 1000 : null,
  }));
}

export const ThrottleBody = z.strictObject({
  maxConcurrentRecoveries: z.number().int().min(1).max(100_000),
  massOutageShare: z.number().min(0).max(1),
});

export function throttle(deps: Deps) {
  return readThrottle(deps.db, deps.config);
}

export async function setThrottle(deps: Deps, body: z.infer<typeof ThrottleBody>) {
  await writeThrottle(deps.db, body);
  return readThrottle(deps.db, deps.config);
}

/** What admission is doing now: the bound, who is recovering, who is waiting to be admitted. */
export async function admission(deps: Deps) {
  const settings = await readThrottle(deps.db, deps.config);
  const queue = await admissionQueue(deps.db, 3 * deps.config.retryAfterSeconds * 1000);
  return {
    ...settings,
    recovering: await countNodesInState(deps.db, 'recovering'),
    waiting: queue.map((q) => ({ ...q, rejectedAt: q.rejectedAt.toISOString() })),
    rejectionsTotal: await totalRejections(deps.db),
  };
}
