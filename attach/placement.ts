// Where a volume is served right now, as the API answers it: the attach path asks again after
// every lost connection and, on a timer, to notice that the volume moved.
import { ApiEndpoints } from '../common/api-endpoints.js';
import { HttpError } from '../common/http.js';

export interface Placement {
  volumeId: string;
  sizeBytes: number;
  readOnly: boolean;
  /** Null while no copy serves the volume (failing over, restoring, moving). */
  serving: ServingCopy | null;
}

export interface ServingCopy {
  nodeId: string;
  nodeBootId: string;
  host: string;
  port: number;
  exportName: string;
}

/** The volume is gone for good (deleted, archived, or not this customer's): held requests fail. */
export class VolumeGoneError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'VolumeGoneError';
  }
}

export type Resolver = () => Promise<Placement>;

const GONE_STATUS = new Set([401, 403, 404, 409, 410]);

/**
 * Asks `POST /v1/volumes/{id}/attachments` with the customer's API key (of the next API, when one
 * stops answering). A 4xx that can never
 * change (unknown volume, another customer's, deleted, archived, bad key) is a VolumeGoneError;
 * anything else (503 while the volume moves, the API restarting) is transient and thrown as is.
 */
export function apiResolver(apiUrls: string, apiKey: string, volumeId: string, review: boolean): Resolver {
  const api = new ApiEndpoints(apiUrls);
  return async () => {
    try {
      const a = await api.requestJson<AttachmentAnswer>(`/v1/volumes/${encodeURIComponent(volumeId)}/attachments`, {
        method: 'POST',
        token: apiKey,
        body: review ? { review: true } : {},
        timeoutMs: 10_000,
      });
      const s = a.serving;
      return {
        volumeId: a.volumeId,
        sizeBytes: a.sizeBytes,
        readOnly: a.readOnly,
        serving: s && { nodeId: s.nodeId, nodeBootId: s.nodeBootId, host: s.nbd.host, port: s.nbd.port, exportName: s.nbd.exportName },
      };
    } catch (err) {
      if (err instanceof HttpError && GONE_STATUS.has(err.status)) throw new VolumeGoneError(err.code, err.message);
      throw err;
    }
  };
}

interface AttachmentAnswer {
  volumeId: string;
  sizeBytes: number;
  readOnly: boolean;
  serving: { nodeId: string; nodeBootId: string; nbd: { host: string; port: number; exportName: string } } | null;
}

/** Another process of the node, or another node, or none: the connection must be made again. */
export function samePlace(a: ServingCopy | null, b: ServingCopy): boolean {
  return !!a && a.nodeId === b.nodeId && a.nodeBootId === b.nodeBootId && a.host === b.host && a.port === b.port;
}
