// A node's recovery scan while the control plane deletes one of its copies: the deleted copy is
// simply no longer there — the hold and the scan go on with the others.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { NodeService } from '../../storage-node/node-service.js';
import { NodeStore } from '../../storage-node/store/node-store.js';
import { openSnapshotStore } from '../../snapshot-store/store.js';

const SIZE = 64 * 1024;

describe('a recovery scan racing a deletion', () => {
  let dir = '';
  let store: NodeStore;
  let service: NodeService;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'node-scan-'));
    store = new NodeStore(join(dir, 'data'), false);
    await store.load();
    service = new NodeService('node-1', store, 1 << 30, openSnapshotStore(join(dir, 'store')));
    for (const volumeId of ['vol-a', 'vol-b'])
      await service.createVolume({ volumeId, sizeBytes: SIZE, role: 'primary', epoch: 1, peer: null });
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  /** The next `step` on vol-a's copy first sees the copy deleted, as when a deletion lands mid-step. */
  function deleteBefore(step: 'saveMeta' | 'verify') {
    const volume = store.get('vol-a')!.volume as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>;
    const original = volume[step]!.bind(volume);
    volume[step] = async (...args: unknown[]) => {
      await store.delete('vol-a');
      return original(...args);
    };
  }

  it('holds the other copies when one is deleted while they are being held', async () => {
    deleteBefore('saveMeta');
    await service.holdAll();
    expect(service.status('vol-b').ioState).toBe('paused');
    expect(store.get('vol-a')).toBeUndefined();
  });

  it('reports the other copies when one is deleted while they are being scanned', async () => {
    await service.holdAll();
    deleteBefore('verify');
    const report = await service.scan(false);
    expect(report.replicas.map((r) => r.volumeId)).toEqual(['vol-b']);
  });

  it('still fails on a copy that is there but cannot be read', async () => {
    await service.holdAll();
    const volume = store.get('vol-a')!.volume as unknown as { verify: () => Promise<unknown> };
    volume.verify = () => Promise.reject(new Error('EIO'));
    await expect(service.scan(false)).rejects.toThrow('EIO');
  });
});
