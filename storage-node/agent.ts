// The node's side of the conversation with the control plane: registration, heartbeats,
// and the recovery report, retried with jitter until the control plane admits it.
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { HttpError, jitteredBackoff, requestJson, sleep } from '../common/http.js';
import type { NodeService } from './node-service.js';

export interface AgentConfig {
  nodeId: string;
  url: string;
  /** Where block clients reach this node's NBD server, "host:port". */
  nbdAddress: string;
  domainPath: string;
  controlPlaneUrl: string;
  joinToken: string;
  heartbeatMs: number;
  reportRetryMs: number;
}

export class ControlPlaneAgent {
  token: string | null = null;
  mirrorToken: string | null = null;
  private stopped = new AbortController();
  private reporting: Promise<void> | null = null;

  constructor(
    private readonly config: AgentConfig,
    private readonly service: NodeService,
  ) {}

  private get tokenPath(): string {
    return join(this.service.store.dataDir, 'node-token.json');
  }

  private nodeUrl(path: string): string {
    return `${this.config.controlPlaneUrl}/v1/nodes/${this.config.nodeId}${path}`;
  }

  async loadToken(): Promise<void> {
    const saved = await readFile(this.tokenPath, 'utf8').then(
      (t) => JSON.parse(t) as { nodeToken: string; mirrorToken: string },
      () => null,
    );
    this.token = saved?.nodeToken ?? null;
    this.mirrorToken = saved?.mirrorToken ?? null;
  }

  /** Registers (retrying while the control plane is unreachable) and keeps the token on disk. */
  async register(): Promise<void> {
    const { nodeId, url, nbdAddress, domainPath } = this.config;
    for (let attempt = 0; !this.stopped.signal.aborted; attempt++) {
      try {
        const res = await requestJson<{ nodeToken: string; mirrorToken: string }>(`${this.config.controlPlaneUrl}/v1/nodes/register`, {
          method: 'POST',
          token: this.config.joinToken,
          headers: this.token ? { 'x-node-token': this.token } : {},
          body: { nodeId, url, nbdAddress, domainPath, capacityBytes: this.service.capacityBytes },
          timeoutMs: 5000,
        });
        this.token = res.nodeToken;
        this.mirrorToken = res.mirrorToken;
        await writeFile(this.tokenPath, JSON.stringify({ nodeToken: res.nodeToken, mirrorToken: res.mirrorToken }), { mode: 0o600 });
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
          body: { usedBytes: this.service.store.usedBytes(), recovering: this.service.recovering, bootId: this.service.bootId },
          timeoutMs: Math.max(1000, this.config.heartbeatMs * 2),
        });
        if (res.reportRequired && !this.reporting) this.startRecovery(false);
      } catch {
        // the control plane is away; the next beat tries again
      }
      await sleep(this.config.heartbeatMs, this.stopped.signal);
    }
  }

  /**
   * Holds every volume's I/O, scans, and reports until admitted. `crashed`: after an unclean
   * shutdown (torn writes are possible), not when a live node was merely declared down.
   */
  startRecovery(crashed: boolean): void {
    this.reporting = this.recover(crashed).finally(() => {
      this.reporting = null;
    });
  }

  private async recover(crashed: boolean): Promise<void> {
    await this.service.holdAll();
    const scan = await this.service.scan(crashed);
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
