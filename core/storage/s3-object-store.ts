/**
 * The cluster ObjectStore: objects in an S3 bucket (or anything speaking the S3 API: MinIO,
 * Ceph, R2, s3rver in tests). This is the only file that imports the AWS SDK, so an SDK upgrade,
 * its error shapes and its defaults are handled in one place (docs/decisions.md).
 */
import { Agent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { WeirError } from '../errors.js';
import { assertValidBackoffPolicy, retryWithBackoff, type BackoffPolicy } from './backoff-retry.js';
import { assertValidRange } from './byte-range.js';
import { assertValidObjectKey, objectKeyError } from './object-key.js';
import { joinObjectBody, objectBodySize, type ByteRange, type ObjectBody, type ObjectInfo, type ObjectStore } from './object-store.js';
import { Semaphore } from './semaphore.js';

const MiB = 1024 * 1024;
/** S3's smallest part (all but the last); also its largest single PUT is 5 GiB, far above any default. */
const MIN_PART_SIZE = 5 * MiB;

export interface S3ObjectStoreOptions {
  bucket: string;
  /** For S3-compatible services; AWS itself needs none. */
  endpoint?: string;
  /** Defaults to the SDK's chain (AWS_REGION, config files); 'us-east-1' when an endpoint is given and none is found. */
  region?: string;
  /** Path-style URLs (endpoint/bucket/key), which most S3-compatible services need. */
  forcePathStyle?: boolean;
  /** Explicit keys (tests); otherwise the SDK's default credential chain (env, profile, IMDS, IRSA...). */
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  /** Prepended to every key, so several clusters can share a bucket; a valid key, '/' added if missing. */
  prefix?: string;
  /** Bodies larger than this go up as a multipart upload; default 16 MiB. */
  multipartThresholdBytes?: number;
  /** Part size of multipart uploads; default 8 MiB, at least S3's minimum of 5 MiB. */
  partSizeBytes?: number;
  /** Attempts per request, first included; default 5. */
  maxAttempts?: number;
  /** Backoff ceiling before the second attempt, doubling after; default 100 ms. */
  retryBaseDelayMs?: number;
  /** Longest single backoff wait; default 5000 ms. */
  retryMaxDelayMs?: number;
  /**
   * An attempt taking longer than this, or whose socket is idle this long, is abandoned (and
   * retried); default 30 s. It must leave time to send a threshold- or part-sized body.
   */
  requestTimeoutMs?: number;
  /** Connecting longer than this fails the attempt; default 5 s. */
  connectionTimeoutMs?: number;
  /** Requests in flight at once (also the HTTP agent's socket bound); default 64. */
  maxConcurrency?: number;
}

export class S3ObjectStore implements ObjectStore {
  readonly kind = 's3';
  readonly bucket: string;
  private readonly prefix: string;
  private readonly client: S3Client;
  private readonly policy: BackoffPolicy;
  private readonly multipartThreshold: number;
  private readonly partSize: number;
  private readonly requests: Semaphore;

  constructor(options: S3ObjectStoreOptions) {
    if (typeof options.bucket !== 'string' || options.bucket.length === 0) throw new WeirError('invalid_argument', 'S3 object store needs a bucket');
    this.bucket = options.bucket;
    this.prefix = normalizePrefix(options.prefix);
    this.policy = {
      maxAttempts: options.maxAttempts ?? 5,
      baseDelayMs: options.retryBaseDelayMs ?? 100,
      maxDelayMs: options.retryMaxDelayMs ?? 5000,
    };
    assertValidBackoffPolicy(this.policy);
    this.multipartThreshold = options.multipartThresholdBytes ?? 16 * MiB;
    this.partSize = options.partSizeBytes ?? 8 * MiB;
    if (!Number.isSafeInteger(this.multipartThreshold) || this.multipartThreshold < 0) {
      throw new WeirError('invalid_argument', `multipartThresholdBytes must be a non-negative integer, got ${this.multipartThreshold}`);
    }
    if (!Number.isSafeInteger(this.partSize) || this.partSize < MIN_PART_SIZE) {
      throw new WeirError('invalid_argument', `partSizeBytes must be an integer >= ${MIN_PART_SIZE} (S3's minimum part), got ${this.partSize}`);
    }
    const maxConcurrency = options.maxConcurrency ?? 64;
    this.requests = new Semaphore(maxConcurrency);
    const agentOptions = { keepAlive: true, maxSockets: maxConcurrency };
    this.client = new S3Client({
      ...(options.endpoint !== undefined && { endpoint: options.endpoint }),
      ...(options.region !== undefined ? { region: options.region } : options.endpoint !== undefined ? { region: process.env['AWS_REGION'] ?? 'us-east-1' } : {}),
      ...(options.forcePathStyle !== undefined && { forcePathStyle: options.forcePathStyle }),
      ...(options.credentials !== undefined && { credentials: options.credentials }),
      // Our own loop retries (below), so that the bound, the backoff and the final error kind are
      // ours and one attempt means one request; the SDK's retries would multiply with ours.
      maxAttempts: 1,
      requestHandler: {
        // A deadline on the whole request (throwOnRequestTimeout: without it the SDK only logs a
        // warning and waits on) and, for a body that stops arriving, on an idle socket.
        requestTimeout: options.requestTimeoutMs ?? 30_000,
        throwOnRequestTimeout: true,
        socketTimeout: options.requestTimeoutMs ?? 30_000,
        connectionTimeout: options.connectionTimeoutMs ?? 5_000,
        httpAgent: new Agent(agentOptions),
        httpsAgent: new HttpsAgent(agentOptions),
      },
    });
  }

  async put(key: string, body: ObjectBody): Promise<void> {
    assertValidObjectKey(key);
    const size = objectBodySize(body);
    // One buffer, because a retry must be able to send the same bytes again (a stream cannot).
    const bytes = joinObjectBody(body);
    if (size <= this.multipartThreshold) {
      // A single PUT is atomic on S3: a reader sees the old object or the new one, never part of it.
      await this.request('put', key, () =>
        this.client.send(new PutObjectCommand({ Bucket: this.bucket, Key: this.s3Key(key), Body: bytes, ContentLength: size })),
      );
      return;
    }
    await this.putMultipart(key, bytes);
  }

  async get(key: string, range?: ByteRange): Promise<Buffer> {
    assertValidObjectKey(key);
    if (range !== undefined) assertValidRange(range);
    if (range !== undefined && range.start === range.end) {
      // HTTP has no empty range; the answer is empty if the object exists at all.
      if ((await this.head(key)) === null) throw notFound(key);
      return Buffer.alloc(0);
    }
    return this.request('get', key, async () => {
      let out;
      try {
        out = await this.client.send(
          new GetObjectCommand({
            Bucket: this.bucket,
            Key: this.s3Key(key),
            ...(range !== undefined && { Range: `bytes=${range.start}-${range.end - 1}` }),
          }),
        );
      } catch (e) {
        // 416: the object exists but the range starts at or past its end (or it is empty).
        if (statusOf(e) === 416 || nameOf(e) === 'InvalidRange') return Buffer.alloc(0);
        throw e;
      }
      // The body is read inside the attempt: a connection dropped mid-body is retried like any other.
      const bytes = out.Body === undefined ? new Uint8Array(0) : await out.Body.transformToByteArray();
      if (out.ContentLength !== undefined && bytes.byteLength !== out.ContentLength) {
        throw new TruncatedBodyError(`expected ${out.ContentLength} bytes, got ${bytes.byteLength}`);
      }
      const got = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      return range === undefined ? got : sliceToRange(got, out.ContentRange, range, key);
    });
  }

  async head(key: string): Promise<ObjectInfo | null> {
    assertValidObjectKey(key);
    try {
      const out = await this.request('head', key, () =>
        this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: this.s3Key(key) })),
      );
      return { key, sizeBytes: out.ContentLength ?? 0 };
    } catch (e) {
      if (e instanceof WeirError && e.kind === 'not_found') return null;
      throw e;
    }
  }

  async delete(key: string): Promise<void> {
    assertValidObjectKey(key);
    try {
      await this.request('delete', key, () =>
        this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: this.s3Key(key) })),
      );
    } catch (e) {
      // S3 answers 204 for an absent key; some compatible services answer 404.
      if (e instanceof WeirError && e.kind === 'not_found') return;
      throw e;
    }
  }

  async *list(prefix: string): AsyncIterable<ObjectInfo> {
    let continuationToken: string | undefined;
    do {
      const token = continuationToken;
      // A permit per page, never while the caller holds the iterator between pages.
      const page = await this.request('list', prefix, () =>
        this.client.send(
          new ListObjectsV2Command({
            Bucket: this.bucket,
            Prefix: this.prefix + prefix,
            ...(token !== undefined && { ContinuationToken: token }),
          }),
        ),
      );
      // ListObjectsV2 returns keys in UTF-8 byte order, which for valid keys (ASCII) is our order.
      for (const object of page.Contents ?? []) {
        if (object.Key === undefined || !object.Key.startsWith(this.prefix)) continue;
        const key = object.Key.slice(this.prefix.length);
        // Something else wrote into our part of the bucket; it is no object of ours.
        if (objectKeyError(key) !== null) continue;
        yield { key, sizeBytes: object.Size ?? 0 };
      }
      continuationToken = page.IsTruncated === true ? page.NextContinuationToken : undefined;
    } while (continuationToken !== undefined);
  }

  async close(): Promise<void> {
    this.client.destroy();
  }

  private s3Key(key: string): string {
    return this.prefix + key;
  }

  /**
   * Parts go up one after another (each its own request, with its own permit and retries):
   * multipart is for the rare object above the threshold, and a flush has other objects in flight. Whatever fails, the upload is aborted, so
   * neither a partial object nor (billed) orphan parts are left behind; S3 shows the object only
   * once Complete succeeds, so a failure is never partially visible.
   */
  private async putMultipart(key: string, bytes: Buffer): Promise<void> {
    const s3Key = this.s3Key(key);
    const created = await this.request('put', key, () =>
      this.client.send(new CreateMultipartUploadCommand({ Bucket: this.bucket, Key: s3Key })),
    );
    const uploadId = created.UploadId;
    if (uploadId === undefined) throw new WeirError('internal', `S3 CreateMultipartUpload for ${key} returned no upload id`);
    try {
      const parts: { PartNumber: number; ETag: string }[] = [];
      for (let offset = 0, partNumber = 1; offset < bytes.length; offset += this.partSize, partNumber++) {
        const part = bytes.subarray(offset, Math.min(offset + this.partSize, bytes.length));
        const out = await this.request('put', key, () =>
          this.client.send(
            new UploadPartCommand({ Bucket: this.bucket, Key: s3Key, UploadId: uploadId, PartNumber: partNumber, Body: part, ContentLength: part.length }),
            ),
        );
        if (out.ETag === undefined) throw new WeirError('internal', `S3 UploadPart ${partNumber} of ${key} returned no ETag`);
        parts.push({ PartNumber: partNumber, ETag: out.ETag });
      }
      await this.request('put', key, async (attempt) => {
        try {
          await this.client.send(
            new CompleteMultipartUploadCommand({ Bucket: this.bucket, Key: s3Key, UploadId: uploadId, MultipartUpload: { Parts: parts } }),
            );
        } catch (e) {
          // An earlier Complete may have succeeded with its answer lost: then the upload is gone
          // and the object is there, whole.
          if (attempt > 1 && nameOf(e) === 'NoSuchUpload' && (await this.headRaw(s3Key)) === bytes.length) return;
          throw e;
        }
      });
    } catch (e) {
      await this.request('put', key, () =>
        this.client.send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: s3Key, UploadId: uploadId })),
      ).catch(() => undefined); // best effort: a bucket lifecycle rule reaps what an outage leaves
      throw e;
    }
  }

  /** HEAD without retries or permit, inside an attempt that holds one: the size, or null. */
  private async headRaw(s3Key: string): Promise<number | null> {
    try {
      const out = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: s3Key }));
      return out.ContentLength ?? 0;
    } catch (e) {
      if (statusOf(e) === 404) return null;
      throw e;
    }
  }

  /**
   * One logical request: a permit, then bounded attempts. The permit is held through the backoff
   * waits on purpose: a throttled bucket then sees fewer requests, not the same number later.
   * A stalled attempt is ended by the HTTP handler's connection, request and socket-idle timeouts.
   */
  private request<T>(op: string, key: string, fn: (attempt: number) => Promise<T>): Promise<T> {
    return this.requests.run(() =>
      retryWithBackoff(
        this.policy,
        async (attempt) => {
          try {
            return await fn(attempt);
          } catch (e) {
            throw toWeirError(e, op, key);
          }
        },
        (e) => e instanceof WeirError && e.retriable,
        (last, attempts) =>
          new WeirError('unavailable', `S3 ${op} ${key} failed after ${attempts} attempts: ${(last as Error).message}`, { cause: last, retriable: true }),
      ),
    );
  }
}

/** A body shorter than its Content-Length: the connection broke in a way the SDK did not notice. */
class TruncatedBodyError extends Error {
  override readonly name = 'TruncatedBodyError';
}

/**
 * The requested range out of what came back. S3 answers exactly the range, but HTTP lets a server
 * ignore Range (200, whole body) and some S3 imitations answer more than asked (s3rver takes
 * "bytes=0-0" for "from 0"), so the answer is cut to the request using its Content-Range.
 */
function sliceToRange(got: Buffer, contentRange: string | undefined, range: ByteRange, key: string): Buffer {
  let first = 0;
  if (contentRange !== undefined) {
    const match = /^bytes (\d+)-\d+\/(?:\d+|\*)$/.exec(contentRange.trim());
    if (match === null) throw new WeirError('internal', `S3 get ${key}: unexpected Content-Range ${JSON.stringify(contentRange)}`);
    first = Number(match[1]);
  }
  if (first > range.start) throw new WeirError('internal', `S3 get ${key}: answer starts at byte ${first}, after the requested ${range.start}`);
  const from = range.start - first;
  return got.subarray(Math.min(from, got.length), Math.min(from + (range.end - range.start), got.length));
}

function normalizePrefix(prefix: string | undefined): string {
  if (prefix === undefined || prefix === '') return '';
  const bare = prefix.endsWith('/') ? prefix.slice(0, -1) : prefix;
  const error = objectKeyError(bare);
  if (error !== null) throw new WeirError('invalid_argument', `S3 key prefix: ${error}`);
  return `${bare}/`;
}

function notFound(key: string): WeirError {
  return new WeirError('not_found', `object ${key} not found`);
}

function statusOf(e: unknown): number | undefined {
  if (typeof e !== 'object' || e === null || !('$metadata' in e)) return undefined;
  const metadata = e.$metadata;
  if (typeof metadata !== 'object' || metadata === null || !('httpStatusCode' in metadata)) return undefined;
  return typeof metadata.httpStatusCode === 'number' ? metadata.httpStatusCode : undefined;
}

function nameOf(e: unknown): string | undefined {
  return e instanceof Error ? e.name : undefined;
}

function codeOf(e: unknown): string | undefined {
  return typeof e === 'object' && e !== null && 'code' in e && typeof e.code === 'string' ? e.code : undefined;
}

/** The SDK marks some transient errors (clock skew, throttling it recognises) as retryable. */
function isMarkedRetryable(e: unknown): boolean {
  return typeof e === 'object' && e !== null && '$retryable' in e && typeof e.$retryable === 'object' && e.$retryable !== null;
}

/** Error names S3 (and compatible services) use for "slow down / try again". */
const throttlingNames = new Set(['SlowDown', 'Throttling', 'ThrottlingException', 'TooManyRequests', 'TooManyRequestsException', 'RequestTimeout', 'RequestTimeTooSkewed', 'ServiceUnavailable', 'InternalError']);

/** Failures with no HTTP answer worth trusting: the request may or may not have reached S3. */
const networkCodes = new Set(['ECONNRESET', 'ECONNREFUSED', 'ECONNABORTED', 'EPIPE', 'ETIMEDOUT', 'ESOCKETTIMEDOUT', 'EAI_AGAIN', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH', 'ERR_STREAM_PREMATURE_CLOSE']);
const networkNames = new Set(['TimeoutError', 'RequestTimeout', 'AbortError', 'TruncatedBodyError']);

/**
 * Maps an SDK or network error to a WeirError. Retriable ('unavailable', retriable): 5xx,
 * throttling, timeouts, broken connections; each recognised by status, name or code, so that a
 * local mistake (no region configured, no credentials found) fails at once instead of being retried. Not retriable: 404 ('not_found'), bad credentials or
 * a missing bucket ('unavailable' but not retriable: a retry cannot fix configuration), anything
 * else ('internal').
 */
function toWeirError(e: unknown, op: string, key: string): WeirError {
  if (e instanceof WeirError) return e;
  const status = statusOf(e);
  const name = nameOf(e) ?? 'Error';
  const message = `S3 ${op} ${key}: ${name}${status !== undefined ? ` (HTTP ${status})` : ''}: ${(e as Error | undefined)?.message ?? String(e)}`;
  // Configuration, not a passing fault: retrying cannot help.
  if (name === 'NoSuchBucket') return new WeirError('unavailable', message, { cause: e, retriable: false });
  // A multipart upload that vanished (aborted by a lifecycle rule, say): this put is lost, a new one may work.
  if (name === 'NoSuchUpload') return new WeirError('unavailable', message, { cause: e, retriable: false });
  if (status === 404 || name === 'NoSuchKey' || name === 'NotFound') return new WeirError('not_found', `object ${key} not found`, { cause: e });
  if (
    throttlingNames.has(name) ||
    (status !== undefined && (status >= 500 || status === 429 || status === 408)) ||
    networkNames.has(name) ||
    networkCodes.has(codeOf(e) ?? '') ||
    isMarkedRetryable(e)
  ) {
    return new WeirError('unavailable', message, { cause: e, retriable: true });
  }
  if (status === 403 || status === 401 || name === 'AccessDenied' || name === 'InvalidAccessKeyId' || name === 'SignatureDoesNotMatch') {
    return new WeirError('unavailable', message, { cause: e, retriable: false });
  }
  return new WeirError('internal', message, { cause: e });
}
