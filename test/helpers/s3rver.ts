/**
 * s3rver (a small S3 imitation) in a child process, on a free loopback port, with its data in a
 * temp directory. Tests of the S3 object store run against it; stop() ends it and removes the
 * directory.
 *
 * A child rather than in-process, because s3rver makes ListObjectsV2 continuation tokens with DES,
 * which Node 20's OpenSSL 3 only offers with --openssl-legacy-provider: without it every listing
 * longer than one page fails with a 500. The child also patches three places where s3rver is not
 * S3 (each noted below): list order, range GETs of empty objects, and racing PUTs to one key.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';

/** s3rver's fixed credentials; it checks signatures made with them. */
export const S3RVER_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } as const;

export interface RunningS3rver {
  port: number;
  endpoint: string;
  bucket: string;
  stop(): Promise<void>;
}

/** Runs in the child (CommonJS, via -e). argv: s3rver's main file, data directory, bucket. */
const childSource = `
const path = require('node:path');
const [s3rverMain, directory, bucket] = process.argv.slice(1);
const S3rver = require(s3rverMain);
const FilesystemStore = require(path.join(path.dirname(s3rverMain), 'stores', 'filesystem.js'));
const listAll = FilesystemStore.prototype.listObjects;
// s3rver lists in directory-walk order ("x/a/b" before "x/a-c"); S3 lists in byte order, which
// Weir relies on. Sort, then apply startAfter and maxKeys (our keys are ASCII: JS order is byte order).
FilesystemStore.prototype.listObjects = async function (bucketName, options) {
  const { startAfter = '', maxKeys = Infinity } = options;
  const all = await listAll.call(this, bucketName, { ...options, startAfter: '', maxKeys: Infinity });
  const objects = all.objects
    .filter((o) => o.key > startAfter)
    .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  return { ...all, objects: objects.slice(0, maxKeys), isTruncated: objects.length > maxKeys };
};
// S3 answers a range GET of an empty object with 416; s3rver claims one byte and sends none.
const getObject = FilesystemStore.prototype.getObject;
FilesystemStore.prototype.getObject = async function (bucketName, key, options) {
  const object = await getObject.call(this, bucketName, key, options);
  if (object && object.range && object.size === 0 && object.content) {
    object.content.destroy();
    object.content = null;
  }
  return object;
};
// S3 PUTs are atomic; s3rver writes in place, so racing PUTs to one key can interleave. One at a
// time per key keeps the survivor whole, as on S3.
const putObject = FilesystemStore.prototype.putObject;
const putting = new Map();
FilesystemStore.prototype.putObject = function (object) {
  const id = object.bucket + '/' + object.key;
  const previous = putting.get(id) || Promise.resolve();
  const next = previous.catch(() => undefined).then(() => putObject.call(this, object));
  putting.set(id, next);
  next.finally(() => { if (putting.get(id) === next) putting.delete(id); }).catch(() => undefined);
  return next;
};
const server = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory, configureBuckets: [{ name: bucket, configs: [] }] });
server.run().then((address) => console.log('listening ' + address.port), (e) => { console.error(e); process.exit(1); });
`;

export async function startS3rver(bucket = 'weir-test'): Promise<RunningS3rver> {
  const s3rverMain = createRequire(import.meta.url).resolve('s3rver');
  const directory = await mkdtemp(join(tmpdir(), 'weir-s3rver-'));
  const child = spawn(process.execPath, ['--openssl-legacy-provider', '-e', childSource, s3rverMain, directory, bucket], {
    cwd: dirname(s3rverMain),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let port: number;
  try {
    port = await new Promise<number>((resolve, reject) => {
      const lines = createInterface({ input: child.stdout! });
      lines.on('line', (line) => {
        const match = /^listening (\d+)$/.exec(line);
        if (match !== null) resolve(Number(match[1]));
      });
      child.once('error', reject);
      child.once('exit', (code) => reject(new Error(`s3rver exited (${String(code)}) before listening: ${stderr}`)));
    });
  } catch (e) {
    await kill(child, exited);
    await rm(directory, { recursive: true, force: true });
    throw e;
  }
  return {
    port,
    endpoint: `http://127.0.0.1:${port}`,
    bucket,
    async stop() {
      try {
        await kill(child, exited);
      } finally {
        await rm(directory, { recursive: true, force: true });
      }
    },
  };
}

async function kill(child: ChildProcess, exited: Promise<void>): Promise<void> {
  if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  await exited;
}
