// The node's side of the conversation with the control plane: registration, heartbeats,
// and the recovery report, retried with jitter until the control plane admits it.
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ApiEndpoints } from '../common/api-endpoints.js';
import { HttpError, jitteredBackoff, sleep } from '../common/http.js';
import { logger } from '../common/log.js';
import type { ScanReport } from '../common/types.js';
import { plainPeerSend, type PeerSend } from './client.js';
import type { NodeService } from './node-service.js';
import { replaceFile } from './store/copy-files.js';

export interface AgentConfig {
  nodeId: string;
  url: string;
  /** Where block clients reach this node's NBD server, "host:port". */
  nbdAddress: string;
  /** Where peers reach this node over mutual TLS ("https://host:port"); null when they use `url`. */
  peerUrl: string | null;
  domainPath: string;
  /** The API processes, in the order tried (CONTROL_PLANE_URL: comma-separated). */
  controlPlaneUrl: string;
  joinToken: string;
  heartbeatMs: number;
  reportRetryMs: number;
  /** With neither the control plane nor any peer answering for this long, the node holds its I/O. */
  networkLossMs: number;
  /** A primary retries its secondary this long before asking to serve alone. */
  peerGiveUpMs: number;
}

/** node-token.json: what registration gave, and the key that proves the first registration was ours. */
interface SavedIdentity {
  nodeToken: string | null;
  mirrorToken: string | null;
  registrationKey: string;
}

export class ControlPlaneAgent {
  token: string | null = null;
  mirrorToken: string | null = null;
  private registrationKey = '';
  private stopped = new AbortController();
  private reporting: Promise<void> | null = null;
  /** The node crashed and no recovery has put it back in service since: any report until then is a crash report. */
  private crashUnresolved = false;
  private lastHeard = Date.now();
  /** Holding I/O because the network is gone; the node reports once the control plane answers again. */
  private isolated = false;
  /** When each volume's (at an epoch) last request to drop its peer was sent. */
  private readonly peerDrops = new Map<string, number>();
  private readonly api: ApiEndpoints;

  constructor(
    private readonly config: AgentConfig,
    private readonly service: NodeService,
    private readonly peerSend: PeerSend = plainPeerSend,
  ) {
    this.api = new ApiEndpoints(config.controlPlaneUrl);
  }

  /** A recovery report is on its way (scanning, sending, retrying): the node's own incident is coming. */
  get reportPending(): boolean {
    return this.reporting !== null;
  }

  private get tokenPath(): string {
    return join(this.service.store.dataDir, 'node-token.json');
  }

  private nodePath(path: string): string {
    return `/v1/nodes/${this.config.nodeId}${path}`;
  }

  /**
   * Reads the tokens a registration gave, and the registration key, made once and kept before
   * the first registration is sent: a retry whose first answer was lost proves itself with it.
   */
  async loadToken(): Promise<void> {
    const saved = await readFile(this.tokenPath, 'utf8').then(
      (t) => JSON.parse(t) as Partial<SavedIdentity>,
      () => null,
    );
    this.token = saved?.nodeToken ?? null;
    this.mirrorToken = saved?.mirrorToken ?? null;
    this.registrationKey = saved?.registrationKey ?? randomBytes(32).toString('base64url');
    if (!saved?.registrationKey) await this.saveIdentity();
  }

  private async saveIdentity(): Promise<void> {
    const identity: SavedIdentity = { nodeToken: this.token, mirrorToken: this.mirrorToken, registrationKey: this.registrationKey };
    await replaceFile(this.tokenPath, JSON.stringify(identity), 0o600);
  }

  /** Registers (retrying while the control plane is unreachable) and keeps the token on disk. */
  async register(): Promise<void> {
    const { nodeId, url, nbdAddress, peerUrl, domainPath } = this.config;
    for (let attempt = 0; !this.stopped.signal.aborted; attempt++) {
      try {
        const res = await this.api.requestJson<{ nodeToken: string; mirrorToken: string }>('/v1/nodes/register', {
          method: 'POST',
          token: this.config.joinToken,
          headers: { 'x-node-registration-key': this.registrationKey, ...(this.token ? { 'x-node-token': this.token } : {}) },
          body: {
            nodeId,
            url,
            nbdAddress,
            ...(peerUrl ? { peerUrl } : {}),
            domainPath,
            capacityBytes: this.service.capacityBytes,
            recovering: this.service.recovering,
          },
          timeoutMs: 5000,
        });
        this.token = res.nodeToken;
        this.mirrorToken = res.mirrorToken;
        await this.saveIdentity();
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
        const res = await this.api.requestJson<{ reportRequired: boolean }>(this.nodePath('/heartbeat'), {
          method: 'POST',
          token: this.token ?? '',
          body: { usedBytes: this.service.store.usedBytes(), recovering: this.service.recovering, bootId: this.service.bootId },
          timeoutMs: Math.max(1000, this.config.heartbeatMs * 2),
        });
        this.lastHeard = Date.now();
        if (this.isolated) this.rejoin();
        else if (res.reportRequired && !this.reporting) this.startRecovery(false);
        if (!this.service.recovering) this.crashUnresolved = false;
      } catch {
        await this.noticeNetworkLoss(); // the control plane is away; the next beat tries again
      }
      await sleep(this.config.heartbeatMs, this.stopped.signal);
    }
  }

  /**
   * Holds every volume's I/O, scans, and reports until admitted. `crashed`: after an unclean
   * shutdown (torn writes are possible), not when a live node was merely declared down.
   */
  startRecovery(crashed: boolean): void {
    // Asked to report again before a crash's recovery put the node back in service: still a crash.
    if (crashed) this.crashUnresolved = true;
    this.reporting = this.recover(crashed || (this.crashUnresolved && this.service.recovering)).finally(() => {
      this.reporting = null;
    });
  }

  private async recover(crashed: boolean): Promise<void> {
    const scan = await this.holdAndScan(crashed);
    if (!scan) return;
    logger({ nodeId: this.config.nodeId }).info(
      { volumes: scan.replicas.length, crashed },
      `node ${this.config.nodeId}: recovery scan found ${scan.replicas.length} volume(s); reporting`,
    );
    for (let attempt = 0; !this.stopped.signal.aborted; attempt++) {
      try {
        const res = await this.api.requestJson<{ workflowId: string }>(this.nodePath('/recovery-reports'), {
          method: 'POST',
          token: this.token ?? '',
          body: scan,
          timeoutMs: 10_000,
        });
        logger({ nodeId: this.config.nodeId, workflowId: res.workflowId }).info(
          `node ${this.config.nodeId}: report admitted as ${res.workflowId}`,
        );
        return;
      } catch (err) {
        const wait = err instanceof HttpError && err.retryAfterSeconds ? err.retryAfterSeconds * 1000 : 0;
        await sleep(wait + jitteredBackoff(attempt, this.config.reportRetryMs, 5000), this.stopped.signal);
      }
    }
  }

  /**
   * No answer from the control plane for `networkLossMs`, and none from any peer this node mirrors
   * to: the network is gone. Hold I/O like a crash would; report when the control plane answers.
   * A node with no peer, or whose peers answer, serves on: its writes still need a peer's
   * acknowledgement at its epoch, which a promoted peer refuses.
   */
  private async noticeNetworkLoss(): Promise<void> {
    if (this.isolated || this.reporting || Date.now() - this.lastHeard < this.config.networkLossMs) return;
    const peers = [
      ...new Map(
        [...this.service.store.volumes.values()].flatMap((h) => (h.volume.meta.peer ? [[h.volume.meta.peer.url, h.volume.meta.peer]] : [])),
      ).values(),
    ];
    if (peers.length === 0) return;
    const answers = await Promise.all(
      peers.map((peer) =>
        this.peerSend(peer, '/v1/health', { method: 'GET', timeoutMs: 1000 }).then(
          () => true,
          () => false,
        ),
      ),
    );
    if (answers.some(Boolean) || this.isolated) return;
    this.isolated = true;
    logger({ nodeId: this.config.nodeId }).warn(
      { peers: peers.length },
      `node ${this.config.nodeId}: network lost (no control plane, no peer); holding I/O`,
    );
    await this.service.holdAll();
  }

  private rejoin(): void {
    this.isolated = false;
    logger({ nodeId: this.config.nodeId }).info(`node ${this.config.nodeId}: network back; scanning and reporting`);
    if (!this.reporting) this.startRecovery(false);
  }

  /** Asks the control plane to let this primary serve `volumeId` alone; at most once per give-up time per volume and epoch. */
  requestPeerDrop = ({ volumeId, epoch, peer }: { volumeId: string; epoch: number; peer: string }): void => {
    const key = `${volumeId}@${epoch}`;
    const now = Date.now();
    if (now - (this.peerDrops.get(key) ?? 0) < this.config.peerGiveUpMs) return;
    for (const [k, at] of this.peerDrops) if (now - at >= this.config.peerGiveUpMs) this.peerDrops.delete(k); // past epochs pile up otherwise
    this.peerDrops.set(key, now);
    this.api
      .requestJson<{ workflowId: string }>(this.nodePath('/peer-drops'), {
        method: 'POST',
        token: this.token ?? '',
        body: { volumeId, epoch, peer },
        timeoutMs: 5000,
      })
      .then(
        (res) => this.log(volumeId).warn({ peer, workflowId: res.workflowId }, `peer ${peer} unreachable; the control plane drops it`),
        (err: Error) => this.log(volumeId).warn({ peer, err }, `peer ${peer} unreachable; drop not granted: ${err.message}`),
      );
  };

  private log(volumeId: string) {
    return logger({ nodeId: this.config.nodeId, volumeId });
  }

  /** Holds every copy and scans them; a failure (a disk error) is logged and tried again, never left to end the process. */
  private async holdAndScan(crashed: boolean): Promise<ScanReport | null> {
    for (let attempt = 0; !this.stopped.signal.aborted; attempt++) {
      try {
        await this.service.holdAll();
        return await this.service.scan(crashed);
      } catch (err) {
        logger({ nodeId: this.config.nodeId }).error({ err }, `node ${this.config.nodeId}: recovery scan failed; trying again`);
        await sleep(jitteredBackoff(attempt, this.config.reportRetryMs, 5000), this.stopped.signal);
      }
    }
    return null;
  }

  stop(): void {
    this.stopped.abort();
  }
}
