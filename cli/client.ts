// A typed client for the Blackstart API, used by the CLI, the tests and the benchmarks.
import { ApiEndpoints } from '../common/api-endpoints.js';
import { reviewRead as nodeReviewRead } from '../storage-node/client.js';

export interface VolumeView {
  volumeId: string;
  sizeBytes: number;
  state: string;
  ioState: 'enabled' | 'paused';
  autoEnableIo: boolean;
  epoch: number;
  snapshotId?: string;
  archiveSnapshotId?: string;
}

export interface SnapshotView {
  snapshotId: string;
  volumeId: string;
  kind: string;
  state: 'pending' | 'completed' | 'error';
  sizeBytes: number;
  writeSeq: number | null;
  digest: string | null;
  parentId: string | null;
  error?: string;
}

export interface DecisionView {
  volumeId: string;
  action: string;
  epoch?: number;
  nodeId?: string;
  snapshotId?: string;
  alreadyApplied: boolean;
}

export interface VolumeStatusView {
  volumeId: string;
  volumeStatus: { status: string; details: { name: string; status: string }[]; servingCopies: number };
  events: { eventId: string; eventType: string; description: string; notBefore: string; notAfter: string | null; proof?: string }[];
  actions: { code: string; eventId: string }[];
  reviewDeadline?: string;
}

export interface VolumeEventView {
  eventId: number;
  volumeId: string;
  code: string;
  description: string;
  proof: string | null;
  startedAt: string;
  endedAt: string | null;
}

/** GET /v1/operator/health: the severity policy is in common/rules/fleet-health.ts. */
export interface FleetHealthView {
  status: 'ok' | 'warn' | 'error';
  reasons: { code: string; severity: 'warn' | 'error'; count: number; message: string }[];
  checkedAt: string;
}

export interface WebhookView {
  url: string;
  createdAt: string;
  deliveries: { pending: number; delivered: number; failed: number };
}

export class BlackstartClient {
  private readonly api: ApiEndpoints;

  /** `apiUrl`: one API, or several comma-separated (requests move to the next when one stops answering). */
  constructor(
    readonly apiUrl: string,
    readonly token: string,
  ) {
    this.api = new ApiEndpoints(apiUrl);
  }

  withToken(token: string): BlackstartClient {
    return new BlackstartClient(this.apiUrl, token);
  }

  private json<T>(path: string, method = 'GET', body?: unknown): Promise<T> {
    return this.api.requestJson<T>(path, { method, body, token: this.token, timeoutMs: 60_000 });
  }

  createCustomer(name: string) {
    return this.json<{ customerId: string; apiKey: string }>('/v1/operator/customers', 'POST', { name });
  }
  fleet() {
    return this.json<{ nodes: { nodeId: string; state: string; domainPath: string; url: string }[]; summary: Record<string, number> }>(
      '/v1/operator/fleet',
    );
  }
  /** The newest `limit` incidents (the API's default 100, at most 1,000). */
  recoveries(limit?: number) {
    return this.json<{ recoveries: { workflowId: string; nodeId: string; admittedAt: string; inServiceAt: string | null }[] }>(
      `/v1/operator/recoveries${limit === undefined ? '' : `?limit=${limit}`}`,
    );
  }
  /** `stuckAfterSeconds` is passed as given: the API validates it (400 when it is not 1 s to 30 days). */
  health(stuckAfterSeconds?: string) {
    const query = stuckAfterSeconds === undefined ? '' : `?stuckAfterSeconds=${encodeURIComponent(stuckAfterSeconds)}`;
    return this.json<FleetHealthView>(`/v1/operator/health${query}`);
  }
  admission() {
    return this.json<{ maxConcurrentRecoveries: number; recovering: number; waiting: { nodeId: string }[]; rejectionsTotal: number }>(
      '/v1/operator/admission',
    );
  }
  setThrottle(settings: { maxConcurrentRecoveries: number; massOutageShare: number }) {
    return this.json<typeof settings>('/v1/operator/throttle', 'PUT', settings);
  }
  createVolume(sizeBytes: number, autoEnableIo = false) {
    return this.json<VolumeView>('/v1/volumes', 'POST', { sizeBytes, autoEnableIo });
  }
  createVolumeFromSnapshot(snapshotId: string, autoEnableIo = false) {
    return this.json<VolumeView>('/v1/volumes', 'POST', { snapshotId, autoEnableIo });
  }
  deleteVolume(id: string) {
    return this.json<{ volumeId: string; state: string }>(`/v1/volumes/${id}`, 'DELETE');
  }
  archive(id: string) {
    return this.json<DecisionView>(`/v1/volumes/${id}/archive`, 'POST');
  }
  transfer(id: string) {
    return this.json<DecisionView>(`/v1/volumes/${id}/transfer`, 'POST');
  }
  createSnapshot(volumeId: string) {
    return this.json<SnapshotView>(`/v1/volumes/${volumeId}/snapshots`, 'POST');
  }
  snapshots(volumeId: string) {
    return this.json<{ snapshots: SnapshotView[] }>(`/v1/volumes/${volumeId}/snapshots`);
  }
  snapshot(snapshotId: string) {
    return this.json<SnapshotView>(`/v1/snapshots/${snapshotId}`);
  }
  deleteSnapshot(snapshotId: string) {
    return this.json<{ snapshotId: string; chunksFreed: number }>(`/v1/snapshots/${snapshotId}`, 'DELETE');
  }
  setSnapshotPolicy(volumeId: string, policy: { intervalSeconds?: number; cron?: string; retention: number }) {
    return this.json<{ scheduleId: string; nextRuns: string[]; recentRuns: { at: string; workflowId: string }[] }>(
      `/v1/volumes/${volumeId}/snapshot-policy`,
      'PUT',
      policy,
    );
  }
  snapshotPolicy(volumeId: string) {
    return this.json<{
      scheduleId: string;
      intervalSeconds: number | null;
      cron: string | null;
      retention: number;
      nextRuns: string[];
      recentRuns: { at: string; workflowId: string }[];
    }>(`/v1/volumes/${volumeId}/snapshot-policy`);
  }
  deleteSnapshotPolicy(volumeId: string) {
    return this.json<{ deleted: boolean }>(`/v1/volumes/${volumeId}/snapshot-policy`, 'DELETE');
  }
  listVolumes() {
    return this.json<{ volumes: VolumeView[] }>('/v1/volumes');
  }
  volume(id: string) {
    return this.json<VolumeView>(`/v1/volumes/${id}`);
  }
  setAutoEnableIo(id: string, autoEnableIo: boolean) {
    return this.json<VolumeView>(`/v1/volumes/${id}`, 'PATCH', { autoEnableIo });
  }
  status(id: string) {
    return this.json<VolumeStatusView>(`/v1/volumes/${id}/status`);
  }
  enableIo(id: string) {
    return this.json<{ ioState: string; epoch: number; alreadyEnabled: boolean }>(`/v1/volumes/${id}/enable-io`, 'POST');
  }
  reviewGrant(id: string) {
    return this.json<{ nodeUrl: string; grant: string; expiresAt: string }>(`/v1/volumes/${id}/review-grants`, 'POST');
  }
  /** Reads the restored copy directly from its node with a review grant; works while I/O is held. */
  async reviewRead(id: string, offset: number, length: number): Promise<Buffer> {
    const { nodeUrl, grant } = await this.reviewGrant(id);
    return nodeReviewRead(nodeUrl, id, grant, offset, length);
  }
  setWebhook(url: string) {
    return this.json<{ url: string; secret: string }>('/v1/webhook', 'PUT', { url });
  }
  webhook() {
    return this.json<WebhookView>('/v1/webhook');
  }
  deleteWebhook() {
    return this.json<{ deleted: boolean }>('/v1/webhook', 'DELETE');
  }
  events(after = 0, limit = 100) {
    return this.json<{ events: VolumeEventView[]; next: number }>(`/v1/events?after=${after}&limit=${limit}`);
  }
  write(id: string, offset: number, data: Buffer, signal?: AbortSignal) {
    return this.api.requestJson<{ writeSeq: number }>(`/v1/volumes/${id}/data?offset=${offset}`, {
      method: 'PUT',
      raw: data,
      token: this.token,
      signal,
    });
  }
  read(id: string, offset: number, length: number, signal?: AbortSignal) {
    return this.api.requestBytes(`/v1/volumes/${id}/data?offset=${offset}&length=${length}`, { token: this.token, signal });
  }
}
