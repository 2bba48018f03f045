// `blackstart attach`: runs the attach endpoint in the foreground until Ctrl-C or SIGTERM.
import { attach, type AttachOptions } from '../attach/endpoint.js';
import { VolumeGoneError } from '../attach/placement.js';

export async function runAttach(opts: Omit<AttachOptions, 'log'>): Promise<void> {
  let attachment;
  try {
    attachment = await attach({ ...opts, log: (line) => console.error(line) });
  } catch (err) {
    if (err instanceof VolumeGoneError) throw new Error(`cannot attach ${opts.volumeId}: ${err.message} (${err.code})`);
    throw new Error(`cannot attach ${opts.volumeId}: ${(err as Error).message}`);
  }
  const { placement, uri } = attachment;
  console.log(`attached ${placement.volumeId} (${placement.sizeBytes} bytes${placement.readOnly ? ', read-only review' : ''}) at ${uri}`);
  await new Promise<void>((resolve) => {
    const stop = () => void attachment.close().then(resolve);
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
}
