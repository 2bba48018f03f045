// Operator stories: customers and keys, the fleet, recoveries, admission settings.
import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { formatDomainPath } from '../../common/failure-domain.js';
import { createCustomer } from '../repositories/customers.js';
import { allocatedBytesByNode, countNodesInState, listNodes } from '../repositories/nodes.js';
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
  return { nodes, summary: { total: nodes.length, inService: byState('in-service'), down: byState('down'), recovering: byState('recovering') } };
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

export async function admission(deps: Deps) {
  return { maxConcurrentRecoveries: deps.config.maxConcurrentRecoveries, recovering: await countNodesInState(deps.db, 'recovering') };
}
