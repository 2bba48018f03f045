// The console's client of the REST API, typed by the API's own answer schemas
// (api/openapi-responses.ts). Every failure becomes an ApiError with the API's code and message.
// Requests go to the current API and move to the next when it stops answering (endpoints.ts).
import type { z } from 'zod';
import type * as R from '../../api/openapi-responses';
import type { SnapshotPolicyBody } from '../../api/use-cases/snapshot-policies';
import { consoleEndpoints, idempotentMethod, NoAnswer } from './endpoints';

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

/** How a request is sent: `repeatable` marks one that is idempotent although its method is not (PATCH, a decision). */
interface Sending {
  body?: unknown;
  repeatable?: boolean;
}

function unanswered(err: unknown): ApiError {
  if (err instanceof NoAnswer && err.reason === 'not-repeated')
    return new ApiError(
      0,
      'interrupted',
      'The control plane stopped answering during this request, so it may or may not have been carried out. ' +
        'It was not sent again, because sending it twice could do it twice. Check, then try again: the next request goes to another API.',
    );
  return new ApiError(0, 'unreachable', 'The control plane did not answer. Check that it is running, then try again.');
}

async function call(token: string, method: string, path: string, sending: Sending = {}): Promise<Response> {
  const { body, repeatable = idempotentMethod(method) } = sending;
  const headers: Record<string, string> = { authorization: `Bearer ${token}` };
  if (body !== undefined) headers['content-type'] = 'application/json';
  const init = { method, headers, body: body === undefined ? undefined : JSON.stringify(body) };
  let res: Response;
  try {
    res = await consoleEndpoints().fetch(path, init, repeatable);
  } catch (err) {
    throw unanswered(err);
  }
  if (res.ok) return res;
  const answer = (await res.json().catch(() => null)) as ErrorBody | null;
  throw new ApiError(res.status, answer?.error.code ?? `http-${res.status}`, answer?.error.message ?? res.statusText);
}

export async function json<T>(token: string, method: string, path: string, sending?: Sending): Promise<T> {
  return (await (await call(token, method, path, sending)).json()) as T;
}

export async function bytes(token: string, path: string): Promise<Uint8Array> {
  return new Uint8Array(await (await call(token, 'GET', path)).arrayBuffer());
}

const v = (id: string) => `/v1/volumes/${encodeURIComponent(id)}`;

/**
 * Enable-io, archive and transfer are idempotent by design: the volume recovery answers a repeated
 * decision `alreadyApplied` (enable-io: `alreadyEnabled`), or 409 once the recovery ended: never
 * done twice, so one may be sent again to another API.
 */
const decision = <T>(key: string, id: string, action: 'enable-io' | 'archive' | 'transfer') =>
  json<T>(key, 'POST', `${v(id)}/${action}`, { repeatable: true });

/** The customer API, for one API key. */
export function customerApi(key: string) {
  return {
    volumes: () => json<{ volumes: Volume[] }>(key, 'GET', '/v1/volumes'),
    volume: (id: string) => json<Volume>(key, 'GET', v(id)),
    status: (id: string) => json<VolumeStatus>(key, 'GET', `${v(id)}/status`),
    // Sets a value: a repeat sets the same value again.
    setAutoEnableIo: (id: string, autoEnableIo: boolean) => json<Volume>(key, 'PATCH', v(id), { body: { autoEnableIo }, repeatable: true }),
    enableIo: (id: string) => decision<EnableIoResult>(key, id, 'enable-io'),
    archive: (id: string) => decision<DecisionResult>(key, id, 'archive'),
    transfer: (id: string) => decision<DecisionResult>(key, id, 'transfer'),
    remove: (id: string) => json<DeleteVolumeResult>(key, 'DELETE', v(id)),
    // Not idempotent: a second request takes a second snapshot, so it is never sent again.
    snapshot: (id: string) => json<Snapshot>(key, 'POST', `${v(id)}/snapshots`),
    snapshots: (id: string) => json<{ snapshots: Snapshot[] }>(key, 'GET', `${v(id)}/snapshots`),
    policy: (id: string) => json<SnapshotPolicy>(key, 'GET', `${v(id)}/snapshot-policy`),
    setPolicy: (id: string, body: SnapshotPolicyRequest) => json<SnapshotPolicy>(key, 'PUT', `${v(id)}/snapshot-policy`, { body }),
    deletePolicy: (id: string) => json<PolicyDeleted>(key, 'DELETE', `${v(id)}/snapshot-policy`),
    reviewRead: (id: string, offset: number, length: number) => bytes(key, `${v(id)}/review-data?offset=${offset}&length=${length}`),
    webhook: () => json<WebhookView>(key, 'GET', '/v1/webhook'),
    setWebhook: (url: string) => json<WebhookSet>(key, 'PUT', '/v1/webhook', { body: { url } }),
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
    setThrottle: (t: Throttle) => json<Throttle>(token, 'PUT', '/v1/operator/throttle', { body: t }),
    reviewQueue: () => json<ReviewQueue>(token, 'GET', '/v1/operator/review-queue'),
    throttle: () => json<Throttle>(token, 'GET', '/v1/operator/throttle'),
  };
}
export type OperatorApi = ReturnType<typeof operatorApi>;
