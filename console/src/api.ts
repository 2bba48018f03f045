// The console's client of the REST API, typed by the API's own answer schemas
// (api/openapi-responses.ts). Every failure becomes an ApiError with the API's code and message.
import type { z } from 'zod';
import type * as R from '../../api/openapi-responses';
import type { SnapshotPolicyBody } from '../../api/use-cases/snapshot-policies';

export type Volume = z.infer<typeof R.VolumeView>;
export type VolumeStatus = z.infer<typeof R.VolumeStatusView>;
export type StatusEvent = z.infer<typeof R.StatusEvent>;
export type Snapshot = z.infer<typeof R.SnapshotView>;
export type SnapshotPolicy = z.infer<typeof R.SnapshotPolicyView>;
/** The request body of PUT /v1/volumes/{id}/snapshot-policy: the schema the route parses with. */
export type SnapshotPolicyRequest = z.input<typeof SnapshotPolicyBody>;
export type PolicyDeleted = z.infer<typeof R.PolicyDeleted>;
export type DecisionResult = z.infer<typeof R.DecisionResultView>;
export type EnableIoResult = z.infer<typeof R.EnableIoResult>;
export type DeleteVolumeResult = z.infer<typeof R.DeleteVolumeResult>;
export type WebhookView = z.infer<typeof R.WebhookView>;
export type WebhookSet = z.infer<typeof R.WebhookSet>;
export type EventFeed = z.infer<typeof R.EventFeed>;
export type Fleet = z.infer<typeof R.FleetView>;
export type FleetNode = z.infer<typeof R.FleetNode>;
export type Recoveries = z.infer<typeof R.RecoveryList>;
export type RecoveryWorkflows = z.infer<typeof R.RecoveryWorkflowList>;
export type RecoveryWorkflow = z.infer<typeof R.RecoveryWorkflow>;
export type Admission = z.infer<typeof R.AdmissionView>;
export type Throttle = z.infer<typeof R.ThrottleView>;
export type Breaker = z.infer<typeof R.BreakerView>;
export type ReviewQueue = z.infer<typeof R.ReviewQueue>;
export type NodeCopies = z.infer<typeof R.NodeCopies>;
export type FleetHealth = z.infer<typeof R.FleetHealthView>;
type ErrorBody = z.infer<typeof R.ApiErrorBody>;

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

async function call(token: string, method: string, path: string, body?: unknown): Promise<Response> {
  const headers: Record<string, string> = { authorization: `Bearer ${token}` };
  if (body !== undefined) headers['content-type'] = 'application/json';
  let res: Response;
  try {
    res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch {
    throw new ApiError(0, 'unreachable', 'The control plane did not answer. Check that it is running, then try again.');
  }
  if (res.ok) return res;
  const answer = (await res.json().catch(() => null)) as ErrorBody | null;
  throw new ApiError(res.status, answer?.error.code ?? `http-${res.status}`, answer?.error.message ?? res.statusText);
}

export async function json<T>(token: string, method: string, path: string, body?: unknown): Promise<T> {
  return (await (await call(token, method, path, body)).json()) as T;
}

export async function bytes(token: string, path: string): Promise<Uint8Array> {
  return new Uint8Array(await (await call(token, 'GET', path)).arrayBuffer());
}

const v = (id: string) => `/v1/volumes/${encodeURIComponent(id)}`;

/** The customer API, for one API key. */
export function customerApi(key: string) {
  return {
    volumes: () => json<{ volumes: Volume[] }>(key, 'GET', '/v1/volumes'),
    volume: (id: string) => json<Volume>(key, 'GET', v(id)),
    status: (id: string) => json<VolumeStatus>(key, 'GET', `${v(id)}/status`),
    setAutoEnableIo: (id: string, autoEnableIo: boolean) => json<Volume>(key, 'PATCH', v(id), { autoEnableIo }),
    enableIo: (id: string) => json<EnableIoResult>(key, 'POST', `${v(id)}/enable-io`),
    archive: (id: string) => json<DecisionResult>(key, 'POST', `${v(id)}/archive`),
    transfer: (id: string) => json<DecisionResult>(key, 'POST', `${v(id)}/transfer`),
    remove: (id: string) => json<DeleteVolumeResult>(key, 'DELETE', v(id)),
    snapshot: (id: string) => json<Snapshot>(key, 'POST', `${v(id)}/snapshots`),
    snapshots: (id: string) => json<{ snapshots: Snapshot[] }>(key, 'GET', `${v(id)}/snapshots`),
    policy: (id: string) => json<SnapshotPolicy>(key, 'GET', `${v(id)}/snapshot-policy`),
    setPolicy: (id: string, body: SnapshotPolicyRequest) => json<SnapshotPolicy>(key, 'PUT', `${v(id)}/snapshot-policy`, body),
    deletePolicy: (id: string) => json<PolicyDeleted>(key, 'DELETE', `${v(id)}/snapshot-policy`),
    reviewRead: (id: string, offset: number, length: number) => bytes(key, `${v(id)}/review-data?offset=${offset}&length=${length}`),
    webhook: () => json<WebhookView>(key, 'GET', '/v1/webhook'),
    setWebhook: (url: string) => json<WebhookSet>(key, 'PUT', '/v1/webhook', { url }),
    deleteWebhook: () => json<{ deleted: true }>(key, 'DELETE', '/v1/webhook'),
    events: (after: number) => json<EventFeed>(key, 'GET', `/v1/events?after=${after}&limit=500`),
  };
}
export type CustomerApi = ReturnType<typeof customerApi>;

/** The operator API, for the operator token. */
export function operatorApi(token: string) {
  return {
    fleet: () => json<Fleet>(token, 'GET', '/v1/operator/fleet'),
    health: () => json<FleetHealth>(token, 'GET', '/v1/operator/health'),
    copies: () => json<NodeCopies>(token, 'GET', '/v1/operator/node-copies'),
    recoveries: () => json<Recoveries>(token, 'GET', '/v1/operator/recoveries?limit=100'),
    workflows: () => json<RecoveryWorkflows>(token, 'GET', '/v1/operator/recovery-workflows?limit=100'),
    admission: () => json<Admission>(token, 'GET', '/v1/operator/admission'),
    breaker: () => json<Breaker>(token, 'GET', '/v1/operator/breaker'),
    setThrottle: (t: Throttle) => json<Throttle>(token, 'PUT', '/v1/operator/throttle', t),
    reviewQueue: () => json<ReviewQueue>(token, 'GET', '/v1/operator/review-queue'),
    throttle: () => json<Throttle>(token, 'GET', '/v1/operator/throttle'),
  };
}
export type OperatorApi = ReturnType<typeof operatorApi>;
