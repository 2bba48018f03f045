// What a storage node answers the heartbeat monitor's probe while it recovers: its real HTTP app
// and its real agent, against a control plane (a plain HTTP server) that holds the recovery
// report unanswered, as a saturated API does. The monitor keeps a node whose report is on the way
// (`probeVerdict` 'reporting'; the rule's own tests are in rules-failover.test.ts).
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { boundPort, closeServer, listen } from '../../common/listen.js';
import { joinToken, nodeToken } from '../../common/tokens.js';
import { openSnapshotStore } from '../../snapshot-store/store.js';
import { ControlPlaneAgent } from '../../storage-node/agent.js';
import { HttpStorageNode } from '../../storage-node/client.js';
import { NodeService } from '../../storage-node/node-service.js';
import { NodeStore } from '../../storage-node/store/node-store.js';
import { createNodeApp } from '../../storage-node/transport/http-server.js';

const SECRET = 'a-cluster-secret-of-some-length';
const NODE = 'node-r';

describe('a recovering node answers its health probe with whether its report is on the way', () => {
  let dir = '';
  const servers: Server[] = [];
  let agent: ControlPlaneAgent;
  let probe: HttpStorageNode;
  /** The held recovery reports; answering one admits it. */
  const heldReports: ServerResponse[] = [];

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'node-health-'));
    const controlPlane = createServer((req: IncomingMessage, res: ServerResponse) => {
      req.resume();
      if (req.url?.endsWith('/recovery-reports')) return heldReports.push(res);
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ reportRequired: false }));
    });
    await new Promise<void>((r) => controlPlane.listen(0, '127.0.0.1', r));
    servers.push(controlPlane);
    const store = new NodeStore(join(dir, 'data'), false);
    await store.load();
    const service = new NodeService(NODE, store, 1 << 30, openSnapshotStore(join(dir, 'snapshots')));
    agent = new ControlPlaneAgent(
      {
        nodeId: NODE,
        url: 'http://127.0.0.1:4',
        nbdAddress: '127.0.0.1:5',
        peerUrl: null,
        domainPath: 'dc1/az1/r1/p1/h1',
        controlPlaneUrl: `http://127.0.0.1:${boundPort(controlPlane)}`,
        joinToken: joinToken(SECRET),
        heartbeatMs: 60_000,
        reportRetryMs: 50,
        networkLossMs: 60_000,
        peerGiveUpMs: 60_000,
      },
      service,
    );
    const credentials = () => ({ token: nodeToken(SECRET, NODE), mirrorToken: null });
    const app = await listen(createNodeApp(service, credentials, { reporting: () => agent.reportPending }), 0);
    servers.push(app);
    probe = new HttpStorageNode(`http://127.0.0.1:${boundPort(app)}`, '');
  });

  afterEach(async () => {
    agent.stop();
    for (const res of heldReports.splice(0)) res.destroy();
    for (const s of servers.splice(0)) await closeServer(s);
    await rm(dir, { recursive: true, force: true });
  });

  it('serving, it is neither recovering nor reporting', async () => {
    expect(await probe.health()).toMatchObject({ nodeId: NODE, recovering: false, reporting: false });
  });

  it('after a crash, it is recovering and reporting until the control plane admits its report, then recovering only', async () => {
    agent.startRecovery(true);
    await expect.poll(() => heldReports.length).toBe(1); // scanned, and the report is sent
    expect(await probe.health()).toMatchObject({ recovering: true, reporting: true });

    heldReports[0]!.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ workflowId: 'server-recovery-x' }));
    await expect.poll(() => agent.reportPending).toBe(false);
    expect(await probe.health()).toMatchObject({ recovering: true, reporting: false }); // its incident runs: it waits for it
  });
});
