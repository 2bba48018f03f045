// An S3-compatible server for the snapshot store: versitygw on a POSIX directory (each bucket a
// subdirectory, each object a file), bound to 127.0.0.1 on a port of its own, with credentials
// made up for the run. Tests start one per file; `SNAPSHOT_STORE=s3://…` plus `env` points the
// API, the worker and the nodes at it.
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { ROOT } from './paths.js';
import { ManagedProcess, freePort, waitFor } from './processes.js';

/** The versitygw binary: $VERSITYGW, `versitygw` on PATH, or a cached `go install` build. */
export function versitygwBinary(): string {
  return execFileSync('bash', [join(ROOT, 'scripts', 'ensure-versitygw.sh')], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  }).trim();
}

/** versitygw's command line (after the binary): the tests run it so, and docker-compose.yml's `s3` service too. */
export function versitygwArgs(o: { listen: string; access: string; secret: string; region: string; dataDir: string }): string[] {
  return ['--port', o.listen, '--access', o.access, '--secret', o.secret, '--region', o.region, '--quiet', 'posix', o.dataDir];
}

/** The AWS_* variables the API, the worker and the nodes get for the server (docker-compose.yml sets the same). */
export function s3ClientEnv(o: { endpoint: string; region: string; access: string; secret: string }) {
  return { AWS_ENDPOINT_URL_S3: o.endpoint, AWS_REGION: o.region, AWS_ACCESS_KEY_ID: o.access, AWS_SECRET_ACCESS_KEY: o.secret };
}

export interface S3Server {
  endpoint: string;
  bucket: string;
  /** AWS_* variables for a client of this server. */
  env: Record<string, string>;
  /** SNAPSHOT_STORE for a prefix in the bucket. */
  storeUrl(prefix: string): string;
  /** Where the objects are, as files (bucket/key). */
  dataDir: string;
  process: ManagedProcess;
  stop(): Promise<void>;
}

export async function startS3Server(opts: { dir: string; logDir: string; bucket?: string; port?: number }): Promise<S3Server> {
  const bucket = opts.bucket ?? 'blackstart';
  const dataDir = join(opts.dir, 's3-data');
  await mkdir(dataDir, { recursive: true });
  await mkdir(opts.logDir, { recursive: true });
  const port = opts.port ?? (await freePort());
  const env = s3ClientEnv({
    endpoint: `http://127.0.0.1:${port}`,
    region: 'us-east-1',
    access: `bs${randomBytes(8).toString('hex')}`,
    secret: randomBytes(24).toString('base64url'),
  });
  // --port binds loopback only (the default, ":7070", is every interface); no admin API, no WebUI.
  const proc = new ManagedProcess({
    name: 'versitygw',
    command: versitygwBinary(),
    args: versitygwArgs({
      listen: `127.0.0.1:${port}`,
      access: env.AWS_ACCESS_KEY_ID,
      secret: env.AWS_SECRET_ACCESS_KEY,
      region: env.AWS_REGION,
      dataDir,
    }),
    env: {},
    logDir: opts.logDir,
  });
  proc.start();
  const client = new S3Client({
    region: env.AWS_REGION,
    endpoint: env.AWS_ENDPOINT_URL_S3,
    forcePathStyle: true,
    credentials: { accessKeyId: env.AWS_ACCESS_KEY_ID, secretAccessKey: env.AWS_SECRET_ACCESS_KEY },
  });
  try {
    await waitFor(
      'versitygw',
      async () => {
        await client.send(new CreateBucketCommand({ Bucket: bucket })).catch((err: { name?: string }) => {
          if (err.name !== 'BucketAlreadyOwnedByYou' && err.name !== 'BucketAlreadyExists') throw err;
        });
        return true;
      },
      30_000,
      100,
      proc,
    );
  } catch (err) {
    await proc.stop();
    throw err;
  } finally {
    client.destroy();
  }
  return {
    endpoint: env.AWS_ENDPOINT_URL_S3,
    bucket,
    env,
    dataDir,
    process: proc,
    storeUrl: (prefix) => `s3://${bucket}/${prefix.replace(/^\/+/, '')}`,
    stop: () => proc.stop(),
  };
}
