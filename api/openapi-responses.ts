// The API's answers as zod schemas: the OpenAPI document's response bodies, and the console's
// types (z.infer). Objects are closed (additionalProperties: false in the document), so a field
// an answer gains without being described here fails the response checks in the tests.
import { z } from 'zod';
import { HEALTH_CODES, type HealthCode } from '../common/rules/fleet-health.js';

const Time = z.iso.datetime().describe('ISO 8601, UTC');
const Int = z.number().int();

export const ApiErrorBody = z
  .object({
    error: z.object({ code: z.string().describe('stable, machine-readable'), message: z.string().describe('for people') }),
  })
  .meta({ id: 'Error' });

export const VolumeView = z
  .object({
    volumeId: z.string(),
    sizeBytes: Int,
    blockSize: Int,
    state: z.enum(['creating', 'available', 'in-use', 'deleting', 'deleted', 'error', 'archived']),
    ioState: z.enum(['enabled', 'paused']),
    autoEnableIo: z.boolean(),
    epoch: Int,
    createdAt: Time,
    snapshotId: z.string().optional().describe('the snapshot it was created from'),
    archiveSnapshotId: z.string().optional(),
  })
  .meta({ id: 'Volume' });

export const VolumeList = z.object({ volumes: z.array(VolumeView) });

export const StatusEvent = z
  .object({
    eventId: z.string(),
    eventType: z.string(),
    description: z.string(),
    notBefore: Time,
    notAfter: Time.nullable(),
    proof: z.string().optional().describe('why I/O could be enabled without a person (beyond EBS)'),
  })
  .meta({ id: 'StatusEvent' });

export const StatusAction = z
  .object({
    code: z.string(),
    description: z.string(),
    request: z.string(),
    eventId: z.string(),
    eventType: z.string(),
  })
  .meta({ id: 'StatusAction' });

export const VolumeStatusView = z
  .object({
    volumeId: z.string(),
    volumeStatus: z.object({
      status: z.enum(['ok', 'impaired', 'warning', 'insufficient-data']),
      details: z.array(z.object({ name: z.string(), status: z.enum(['passed', 'failed']) })),
      servingCopies: Int,
    }),
    events: z.array(StatusEvent),
    actions: z.array(StatusAction),
    reviewDeadline: Time.optional().describe('no decision by then: the volume is archived'),
  })
  .meta({ id: 'VolumeStatus', description: 'EBS DescribeVolumeStatus, one volume' });

const DecisionFields = {
  alreadyApplied: z.boolean(),
  epoch: Int.optional(),
  snapshotId: z.string().optional(),
  nodeId: z.string().optional(),
};

export const EnableIoResult = z.object({
  volumeId: z.string(),
  ioState: z.literal('enabled'),
  epoch: Int.optional(),
  nodeId: z.string().optional(),
  alreadyEnabled: z.boolean(),
});

export const DecisionResultView = z
  .object({
    volumeId: z.string(),
    action: z.enum(['enable-io', 'snapshot', 'archive', 'transfer', 'delete']),
    ...DecisionFields,
  })
  .meta({ id: 'DecisionResult' });

export const DeleteVolumeResult = z.object({
  volumeId: z.string(),
  state: z.enum(['deleting', 'deleted']),
  action: z.literal('delete').optional(),
  ...DecisionFields,
  alreadyApplied: z.boolean().optional(),
});

export const AttachmentView = z.object({
  volumeId: z.string(),
  sizeBytes: Int,
  ioState: z.enum(['enabled', 'paused']),
  access: z.enum(['io', 'review']),
  readOnly: z.boolean(),
  serving: z
    .object({
      nodeId: z.string(),
      nodeBootId: z.string(),
      epoch: Int,
      nbd: z.object({ host: z.string(), port: Int, exportName: z.string() }),
      expiresAt: Time,
    })
    .nullable()
    .describe('null while no copy serves: ask again'),
});

export const ReviewGrantView = z.object({
  volumeId: z.string(),
  nodeId: z.string(),
  nodeUrl: z.string(),
  grant: z.string(),
  expiresAt: Time,
});

export const WriteResult = z.object({ writeSeq: Int });

export const SnapshotView = z
  .object({
    snapshotId: z.string(),
    volumeId: z.string(),
    kind: z.enum(['manual', 'review', 'policy', 'archive']),
    state: z.enum(['pending', 'completed', 'error', 'deleted']),
    sizeBytes: Int,
    epoch: Int.nullable(),
    writeSeq: Int.nullable(),
    digest: z.string().nullable(),
    parentId: z.string().nullable(),
    error: z.string().optional(),
    createdAt: Time,
    completedAt: Time.nullable(),
  })
  .meta({ id: 'Snapshot' });

export const SnapshotList = z.object({ snapshots: z.array(SnapshotView) });
export const SnapshotDeleted = z.object({ snapshotId: z.string(), deleted: z.literal(true), chunksFreed: Int });

export const SnapshotPolicyView = z
  .object({
    volumeId: z.string(),
    scheduleId: z.string(),
    intervalSeconds: Int.nullable(),
    cron: z.string().nullable(),
    retention: Int.nullable(),
    nextRuns: z.array(Time),
    recentRuns: z.array(z.object({ at: Time, workflowId: z.string() })),
  })
  .meta({ id: 'SnapshotPolicy' });

export const PolicyDeleted = z.object({ volumeId: z.string(), deleted: z.literal(true) });

export const WebhookSet = z.object({ url: z.string(), secret: z.string().describe('shown only in this answer') });
export const WebhookView = z.object({
  url: z.string(),
  createdAt: Time,
  deliveries: z.object({ pending: Int, delivered: Int, failed: Int }),
});
export const Deleted = z.object({ deleted: z.literal(true) });

export const FeedEvent = z
  .object({
    eventId: Int,
    volumeId: z.string(),
    code: z.string(),
    description: z.string(),
    proof: z.string().nullable(),
    startedAt: Time,
    endedAt: Time.nullable(),
  })
  .meta({ id: 'FeedEvent' });
export const EventFeed = z.object({ events: z.array(FeedEvent), next: Int.describe('pass as `after` to continue') });

export const NodeRegistered = z.object({ nodeId: z.string(), state: z.string(), nodeToken: z.string(), mirrorToken: z.string() });
export const HeartbeatAnswer = z.object({ state: z.string(), reportRequired: z.boolean() });
export const ReportAdmitted = z.object({ workflowId: z.string(), incident: Int });
export const PeerDropStarted = z.object({ workflowId: z.string() });

export const CustomerCreated = z.object({ customerId: z.string(), name: z.string(), apiKey: z.string() });
const Counts = z.object({ volumes: Int, bytes: Int, snapshots: Int });
export const QuotaView = z.object({
  customerId: z.string(),
  quota: z.object({ maxVolumes: Int, maxBytes: Int, maxSnapshots: Int }),
  usage: Counts,
});

export const FleetNode = z
  .object({
    nodeId: z.string(),
    url: z.string(),
    domainPath: z.string().describe('dc/zone/router/power/host'),
    state: z.enum(['in-service', 'down', 'recovering']),
    capacityBytes: Int,
    allocatedBytes: Int,
    lastHeartbeat: Time,
  })
  .meta({ id: 'FleetNode' });
export const FleetView = z.object({
  nodes: z.array(FleetNode),
  summary: z.object({ total: Int, inService: Int, down: Int, recovering: Int }),
});

export const HealthReasonView = z
  .object({
    code: z.enum(HEALTH_CODES as [HealthCode, ...HealthCode[]]).describe('stable, machine-readable'),
    severity: z.enum(['warn', 'error']),
    count: Int,
    message: z.string().describe('for people: "3 volumes under-replicated (fewer than two in-service copies)"'),
  })
  .meta({ id: 'HealthReason' });
export const FleetHealthView = z
  .object({
    status: z.enum(['ok', 'warn', 'error']).describe('ok exactly when there is no reason; otherwise the worst severity among them'),
    reasons: z.array(HealthReasonView).describe('one per nonzero count, errors first'),
    checkedAt: Time,
  })
  .meta({ id: 'FleetHealth', description: 'Like `ceph -s`: the severity policy is in common/rules/fleet-health.ts' });

export const RecoveryView = z
  .object({
    workflowId: z.string(),
    nodeId: z.string(),
    replicas: Int,
    admittedAt: Time,
    inServiceAt: Time.nullable(),
    nodeDowntimeToServiceSeconds: z.number().nullable(),
  })
  .meta({ id: 'Recovery' });
export const RecoveryList = z.object({ recoveries: z.array(RecoveryView) });

export const ThrottleView = z.object({ maxConcurrentRecoveries: Int, massOutageShare: z.number() }).meta({ id: 'Throttle' });
export const AdmissionView = z.object({
  maxConcurrentRecoveries: Int,
  massOutageShare: z.number(),
  recovering: Int,
  waiting: z.array(z.object({ nodeId: z.string(), rejections: Int, rejectedAt: Time })),
  rejectionsTotal: Int,
});

export const Health = z.object({ ok: z.literal(true) });

export const RecoveryWorkflow = z
  .object({
    workflowId: z.string(),
    runId: z.string(),
    type: z.string(),
    status: z.string().describe('RUNNING, COMPLETED, FAILED, …'),
    phase: z.string().nullable().describe('the RecoveryPhase search attribute'),
    nodeId: z.string().nullable(),
    volumeId: z.string().nullable(),
    startedAt: Time,
    closedAt: Time.nullable(),
  })
  .meta({ id: 'RecoveryWorkflow' });
export const RecoveryWorkflowList = z.object({
  temporalUi: z
    .object({ url: z.string(), namespace: z.string() })
    .describe('a workflow page: {url}/namespaces/{namespace}/workflows/{workflowId}/{runId}/history'),
  workflows: z.array(RecoveryWorkflow),
});
export const BreakerView = z.object({
  open: z.boolean().describe('tripped by the inventory now, or within the hold-down of an earlier trip'),
  holdingUntil: Time.nullable().describe('the end of the hold-down after the outage stopped showing; null when none runs'),
  unreachable: Int,
  unreachableNodes: z.array(z.string()).describe('down, or silent for half the heartbeat timeout'),
  nodes: Int,
  massOutageShare: z.number(),
});
export const ReviewQueue = z.object({
  reviews: z.array(z.object({ volumeId: z.string(), customerId: z.string(), sizeBytes: Int, waitingSince: Time })),
});
export const NodeCopies = z.object({ copies: z.record(z.string(), Int) });
