// The node's side of the conversation with the control plane: registration, heartbeats,
// and the recovery report, retried with jitter until the control plane admits it.
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { HttpError, jitteredBackoff, requestJson, sleep } from '../common/http.js';
import type { NodeService } from './node-service.js';

export interface AgentConfig {
  nodeId: string;
  url: string;
  domainPath: string;
  controlPlaneUrl: string;
  joinToken: string;
  heartbeatMs: number;
  reportRetryMs: number;
}

export class ControlPlaneAgent {
  token: string | null = null;
  private stopped = new AbortController();
  private reporting: Promise<void> | null = null;

  constructor(
    private readonly config: AgentConfig,
    private readonly service: NodeService,
  ) {}

  private get tokenPath(): string {
    return join(this.service.store.dataDir, 'node-token');
  }

  private nodeUrl(path: string): string {
    return `${this.config.controlPlaneUrl}/v1/nodes/${this.config.nodeId}${path}`;
  }

  async loadToken(): Promise<void> {
    this.token = await readFile(this.tokenPath, 'utf8').then((t) => t.trim(), () => null);
  }

  /** Registers (retrying while the control plane is unreachable) and keeps the token on disk. */
  async register(): Promise<void> {
    const { nodeId, url, domainPath } = this.config;
    for (let attempt = 0; !this.stopped.signal.aborted; attempt++) {
      try {
        const res = await requestJson<{ nodeToken: string }>(`${this.config.controlPlaneUrl}/v1/nodes/register`, {
          method: 'POST',
          token: this.config.joinToken,
          body: { nodeId, url, domainPath, capacityBytes: this.service.capacityBytes },
          timeoutMs: 5000,
        });
        this.token = res.nodeToken;
        await writeFile(this.tokenPath, res.nodeToken, { mode: 0o600 });
        return;
      } catch (err) {
        if (err instanceof HttpError && err.status < 500 && err.status !== 429) throw err;
        await sleep(jitteredBackoff(attempt, this.config.reportRetryMs, 5000), this.stopped.signal);
      }
    }
  }

  startHeartbeats(): void {
    void this.heartbeatLoop();
  }

  private async heartbeatLoop(): Promise<void> {
    while (!this.stopped.signal.aborted) {
      try {
        const res = await requestJson<{ reportRequired: boolean }>(this.nodeUrl('/heartbeat'), {
          method: 'POST',
          token: this.token ?? '',
          body: { usedBytes: this.service.store.usedBytes(), recovering: this.service.recovering },
          timeoutMs: Math.max(1000, this.config.heartbeatMs * 2),
        });
        if (res.reportRequired && !this.reporting) this.startRecovery();
      } catch {
        // the control plane is away; the next beat tries again
      }
      await sleep(this.config.heartbeatMs, this.stopped.signal);
    }
  }

  /** Holds every volume's I/O, scans, and reports until admitted. */
  startRecovery(): void {
    this.reporting = this.recover().finally(() => {
      this.reporting = null;
    });
  }

  private async recover(): Promise<void> {
    await this.service.holdAll();
    const scan = await this.service.scan();
    console.log(`node ${this.config.nodeId}: recovery scan found ${scan.replicas.length} volume(s); reporting`);
    for (let attempt = 0; !this.stopped.signal.aborted; attempt++) {
      try {
        const res = await requestJson<{ workflowId: string }>(this.nodeUrl('/recovery-reports'), {
          method: 'POST',
          token: this.token ?? '',
          body: scan,
          timeoutMs: 10_000,
        });
        console.log(`node ${this.config.nodeId}: report admitted as ${res.workflowId}`);
        return;
      } catch (err) {
        const wait = err instanceof HttpError && err.retryAfterSeconds ? err.retryAfterSeconds * 1000 : 0;
        await sleep(wait + jitteredBackoff(attempt, this.config.reportRetryMs, 5000), this.stopped.signal);
      }
    }
  }

  stop(): void {
    this.stopped.abort();
  }
}
