// The filesystem backend: <root>/chunks/<2 hex>/<sha256> and <root>/manifests/<volume>/<snapshot>.json
// (the collector's records under <root>/gc and <root>/leases). Every file is written to a
// temporary name, fsynced, renamed (or linked) into place and its directory fsynced, so a crash
// leaves either nothing or the whole file.
import type { GcOptions } from './gc.js';
import { ObjectSnapshotStore } from './object-store.js';
import { FsObjects } from './objects.js';

export class FsSnapshotStore extends ObjectSnapshotStore {
  constructor(
    readonly root: string,
    gc: Partial<GcOptions> = {},
  ) {
    super(new FsObjects(root), gc);
  }
}
