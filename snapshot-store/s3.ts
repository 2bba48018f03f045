// The S3 backend of the object layer: SNAPSHOT_STORE=s3://bucket/prefix on the AWS SDK v3 client.
// Endpoint, region and credentials come from the usual variables (AWS_ENDPOINT_URL_S3 or
// AWS_ENDPOINT_URL, AWS_REGION, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY); with an endpoint of
// its own (a local server such as versitygw) addressing is path-style. A write is durable when
// S3 answers 200: the SDK waits for that answer, and S3 is read-after-write consistent for
// PUT, DELETE and LIST (since December 2020), which the garbage collector's protocol needs.
import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import type { ObjectBackend } from './objects.js';

export interface S3Location {
  bucket: string;
  /** '' or a prefix ending with '/'. */
  prefix: string;
}

export function parseS3Url(spec: string): S3Location {
  const url = new URL(spec);
  if (url.protocol !== 's3:' || !url.hostname) throw new Error(`snapshot store ${spec}: expected s3://bucket/prefix`);
  const path = url.pathname.replace(/^\/+|\/+$/g, '');
  return { bucket: url.hostname, prefix: path ? `${path}/` : '' };
}

export function s3ClientFromEnv(env: NodeJS.ProcessEnv = process.env): S3Client {
  const endpoint = env.AWS_ENDPOINT_URL_S3 || env.AWS_ENDPOINT_URL || undefined;
  return new S3Client({
    region: env.AWS_REGION || env.AWS_DEFAULT_REGION || 'us-east-1',
    endpoint,
    forcePathStyle: endpoint !== undefined || env.AWS_S3_FORCE_PATH_STYLE === 'true',
    maxAttempts: 5,
    // Named explicitly so that an env other than process.env is honoured; else the SDK's default chain.
    credentials:
      env.AWS_ACCESS_KEY_ID && env.AWS_SECRET_ACCESS_KEY
        ? { accessKeyId: env.AWS_ACCESS_KEY_ID, secretAccessKey: env.AWS_SECRET_ACCESS_KEY, sessionToken: env.AWS_SESSION_TOKEN }
        : undefined,
  });
}

export class S3Objects implements ObjectBackend {
  readonly where: string;

  constructor(
    private readonly client: S3Client,
    private readonly loc: S3Location,
  ) {
    this.where = `s3://${loc.bucket}/${loc.prefix}`;
  }

  private key(key: string): string {
    return this.loc.prefix + key;
  }

  async put(key: string, bytes: Uint8Array): Promise<void> {
    await this.client.send(new PutObjectCommand({ Bucket: this.loc.bucket, Key: this.key(key), Body: bytes }));
  }

  async create(key: string, bytes: Uint8Array): Promise<boolean> {
    try {
      await this.client.send(new PutObjectCommand({ Bucket: this.loc.bucket, Key: this.key(key), Body: bytes, IfNoneMatch: '*' }));
      return true;
    } catch (err) {
      // 412: the key exists; 409: a concurrent conditional write of the same key won.
      if (status(err) === 412 || status(err) === 409) return false;
      throw err;
    }
  }

  async get(key: string): Promise<Buffer | null> {
    try {
      const out = await this.client.send(new GetObjectCommand({ Bucket: this.loc.bucket, Key: this.key(key) }));
      return Buffer.from(await out.Body!.transformToByteArray());
    } catch (err) {
      if (status(err) === 404) return null;
      throw err;
    }
  }

  async exists(key: string): Promise<boolean> {
    try {
      await this.client.send(new HeadObjectCommand({ Bucket: this.loc.bucket, Key: this.key(key) }));
      return true;
    } catch (err) {
      if (status(err) === 404) return false;
      throw err;
    }
  }

  async delete(key: string): Promise<void> {
    await this.client.send(new DeleteObjectCommand({ Bucket: this.loc.bucket, Key: this.key(key) }));
  }

  async list(prefix: string): Promise<string[]> {
    const keys: string[] = [];
    let token: string | undefined;
    do {
      const out = await this.client.send(
        new ListObjectsV2Command({ Bucket: this.loc.bucket, Prefix: this.key(prefix), ContinuationToken: token }),
      );
      for (const o of out.Contents ?? []) if (o.Key) keys.push(o.Key.slice(this.loc.prefix.length));
      token = out.IsTruncated ? out.NextContinuationToken : undefined;
    } while (token);
    return keys;
  }
}

function status(err: unknown): number | undefined {
  return err instanceof S3ServiceException ? err.$metadata.httpStatusCode : undefined;
}
