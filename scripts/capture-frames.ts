/**
 * Captures Kafka protocol frames exchanged between real clients and a Weir agent, as replay
 * fixtures for the codec (test/protocol/replay-fixtures.test.ts).
 *
 *   npx tsx scripts/capture-frames.ts [--out test/fixtures/frames] [--clients kafkajs,kcat,...]
 *
 * It starts an agent (temp data dir) behind a recording TCP proxy and drives each client through
 * the proxy: kafkajs (in process), kcat, kafka-python and confluent-kafka-python (both through
 * Debian's /usr/bin/python3, which has the `kafka` and `confluent_kafka` modules; the pyenv python
 * on PATH has neither). The agent advertises the proxy's address in Metadata
 * (--advertised-listener), so the proxy forwards bytes untouched and clients never bypass it.
 *
 * The agent runs from source through tsx rather than from dist/: others build dist/ concurrently,
 * and the capture should not depend on (or clobber) their build.
 *
 * The recorder splits frames using only the size prefix and the fixed header prefix (api key,
 * version, correlation id), never the codec, so a codec bug cannot hide a frame. The codec is only
 * used to label record batches' compression, which picks the examples to keep.
 *
 * Output: <out>/<client>/<nnnn>-<ApiName>-v<version>-<request|response>.bin (frame without its
 * size prefix) and <out>/manifest.json. Kept per client: up to 2 examples of each (api, version,
 * direction, variant), where the variant is the set of compression codecs in the frame's record
 * batches (Produce requests, Fetch responses; "" elsewhere), so that each codec a client used is
 * kept even when several share a Produce version. Frames over 64 KiB are skipped, not truncated.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { decodeRequestBody, decodeRequestHeader, decodeResponse } from '../core/protocol/frame.js';
import { ApiKey, apisByKey, type FetchResponse, type ProduceRequest } from '../core/protocol/generated/index.js';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const PYTHON = '/usr/bin/python3';
const MAX_FRAME = 64 * 1024;
const MAX_TOTAL = 2 * 1024 * 1024;
const EXAMPLES_PER_KEY = 2;
const ALL_CLIENTS = ['kafkajs', 'kcat', 'kafka-python', 'confluent-kafka-python'] as const;
type ClientName = (typeof ALL_CLIENTS)[number];

interface Captured {
  client: ClientName;
  connection: number;
  seq: number;
  direction: 'request' | 'response';
  apiKey: number;
  apiVersion: number;
  correlationId: number;
  frame: Buffer;
}

export interface ManifestEntry {
  file: string;
  client: ClientName;
  clientLibrary: string;
  direction: 'request' | 'response';
  apiKey: number;
  apiName: string;
  apiVersion: number;
  correlationId: number;
  /** Compression codecs of the frame's record batches, e.g. "gzip" or "none+zstd"; "" when it carries none. */
  variant: string;
  size: number;
}

function log(msg: string): void {
  process.stderr.write(`capture: ${msg}\n`);
}

function parseArgs(argv: string[]): { out: string; clients: ClientName[] } {
  let out = join(repoRoot, 'test/fixtures/frames');
  let clients: ClientName[] = [...ALL_CLIENTS];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--out') out = resolve(argv[++i] ?? '');
    else if (a === '--clients') {
      const names = (argv[++i] ?? '').split(',').filter(Boolean);
      for (const n of names) if (!(ALL_CLIENTS as readonly string[]).includes(n)) throw new Error(`unknown client ${n}`);
      clients = names as ClientName[];
    } else throw new Error(`unknown argument ${a} (usage: capture-frames.ts [--out DIR] [--clients a,b])`);
  }
  return { out, clients };
}

/** Splits a byte stream into frames by their int32 size prefix; yields each frame without it. */
class FrameSplitter {
  private buf: Buffer = Buffer.alloc(0);
  push(chunk: Buffer): Buffer[] {
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    const frames: Buffer[] = [];
    while (this.buf.length >= 4) {
      const size = this.buf.readInt32BE(0);
      if (size < 0) throw new Error(`negative frame size ${size}`);
      if (this.buf.length < 4 + size) break;
      // Copy: the chunk buffers belong to the socket and the frame outlives them.
      frames.push(Buffer.from(this.buf.subarray(4, 4 + size)));
      this.buf = this.buf.subarray(4 + size);
    }
    return frames;
  }
}

/**
 * Forwards every byte unchanged both ways and records the frames of connections accepted while a
 * client is being driven (`recordAs`); setup traffic (recordAs === null) is forwarded only.
 */
class RecordingProxy {
  readonly captured: Captured[] = [];
  recordAs: ClientName | null = null;
  private server = net.createServer((s) => this.onConnection(s));
  private sockets = new Set<net.Socket>();
  private connections = 0;
  private seq = 0;
  private target = { host: '127.0.0.1', port: 0 };
  port = 0;

  async listen(): Promise<number> {
    await new Promise<void>((res, rej) => {
      this.server.once('error', rej);
      this.server.listen(0, '127.0.0.1', () => res());
    });
    this.port = (this.server.address() as net.AddressInfo).port;
    return this.port;
  }

  setTarget(host: string, port: number): void {
    this.target = { host, port };
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((res) => this.server.close(() => res()));
  }

  private onConnection(client: net.Socket): void {
    const tag = this.recordAs;
    const connection = ++this.connections;
    const upstream = net.connect(this.target.port, this.target.host);
    this.sockets.add(client);
    this.sockets.add(upstream);
    // Responses come back in request order, but acks=0 Produce requests get none, so responses are
    // matched by correlation id rather than by position.
    const inflight = new Map<number, { apiKey: number; apiVersion: number }>();
    const reqSplit = new FrameSplitter();
    const resSplit = new FrameSplitter();
    const record = (c: Omit<Captured, 'client' | 'connection' | 'seq'>): void => {
      if (tag !== null) this.captured.push({ ...c, client: tag, connection, seq: ++this.seq });
    };
    client.on('data', (chunk: Buffer) => {
      upstream.write(chunk);
      for (const frame of reqSplit.push(chunk)) {
        if (frame.length < 8) {
          log(`connection ${connection}: request frame of ${frame.length} bytes, not recorded`);
          continue;
        }
        const apiKey = frame.readInt16BE(0);
        const apiVersion = frame.readInt16BE(2);
        const correlationId = frame.readInt32BE(4);
        inflight.set(correlationId, { apiKey, apiVersion });
        record({ direction: 'request', apiKey, apiVersion, correlationId, frame });
      }
    });
    upstream.on('data', (chunk: Buffer) => {
      client.write(chunk);
      for (const frame of resSplit.push(chunk)) {
        const correlationId = frame.readInt32BE(0);
        const req = inflight.get(correlationId);
        if (req === undefined) {
          log(`connection ${connection}: response with unknown correlation id ${correlationId}, not recorded`);
          continue;
        }
        inflight.delete(correlationId);
        let apiVersion = req.apiVersion;
        // KIP-511: an ApiVersions request at a version the broker does not know is answered at v0
        // (header v0, body errorCode UNSUPPORTED_VERSION), so the response must be labelled v0.
        if (req.apiKey === ApiKey.ApiVersions && frame.length >= 6 && frame.readInt16BE(4) === 35) apiVersion = 0;
        record({ direction: 'response', apiKey: req.apiKey, apiVersion, correlationId, frame });
      }
    });
    const done = (): void => {
      client.destroy();
      upstream.destroy();
      this.sockets.delete(client);
      this.sockets.delete(upstream);
    };
    client.on('close', done);
    upstream.on('close', done);
    client.on('error', () => undefined);
    upstream.on('error', (e) => log(`connection ${connection}: upstream error ${e.message}`));
  }
}

async function startAgent(dataDir: string, proxyPort: number): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      join(repoRoot, 'agent/cli/main.ts'),
      'agent',
      '--host',
      '127.0.0.1',
      '--port',
      '0',
      '--data-dir',
      dataDir,
      '--linger-ms',
      '10',
      '--advertised-listener',
      `127.0.0.1:${proxyPort}`,
    ],
    { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => {
    stderr += d.toString();
    if (stderr.length > 64 * 1024) stderr = stderr.slice(-32 * 1024);
  });
  const port = await new Promise<number>((res, rej) => {
    let out = '';
    const timer = setTimeout(() => rej(new Error(`agent did not start in 30 s; stderr:\n${stderr}`)), 30_000);
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /weir agent listening on [^\s:]+:(\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        res(Number(m[1]));
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      rej(new Error(`agent exited with ${code} before listening; stderr:\n${stderr}`));
    });
  });
  return { child, port };
}

async function stopAgent(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise<void>((res) => child.once('exit', () => res()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}

/** Runs a command to completion; rejects on a non-zero exit or timeout, with its output. */
function run(cmd: string, args: string[], opts: { input?: string; timeoutMs?: number; env?: NodeJS.ProcessEnv } = {}): Promise<string> {
  return new Promise((res, rej) => {
    const child = spawn(cmd, args, { cwd: repoRoot, env: { ...process.env, ...opts.env }, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      rej(new Error(`${cmd} ${args.join(' ')} timed out; stderr:\n${stderr.slice(-4000)}`));
    }, opts.timeoutMs ?? 60_000);
    child.on('error', (e) => {
      clearTimeout(timer);
      rej(e);
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      if (code === 0) res(stdout);
      else rej(new Error(`${cmd} ${args.slice(0, 6).join(' ')} exited with ${code}; stderr:\n${stderr.slice(-4000)}`));
    });
    child.stdin.end(opts.input ?? '');
  });
}

// ---------------------------------------------------------------------------------------------
// Clients. Each gets its own topics so its traffic does not depend on the others'. Payloads stay
// small so that Produce requests and Fetch responses fit under MAX_FRAME.

async function driveKafkajs(bootstrap: string): Promise<void> {
  const { Kafka, CompressionTypes, logLevel } = await import('kafkajs');
  const kafka = new Kafka({ clientId: 'weir-capture-kafkajs', brokers: [bootstrap], logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({
    topics: [
      { topic: 'kafkajs-a', numPartitions: 2, configEntries: [{ name: 'retention.ms', value: '86400000' }] },
      { topic: 'kafkajs-b', numPartitions: 1 },
    ],
    waitForLeaders: true,
  });
  await admin.fetchTopicMetadata({ topics: ['kafkajs-a', 'kafkajs-b'] });
  await admin.describeConfigs({
    includeSynonyms: false,
    resources: [
      { type: 2 /* TOPIC */, name: 'kafkajs-a' },
      { type: 4 /* BROKER */, name: '0' },
    ],
  });
  await admin.listTopics();
  await admin.alterConfigs({
    validateOnly: false,
    resources: [{ type: 2 /* TOPIC */, name: 'kafkajs-a', configEntries: [{ name: 'retention.ms', value: '3600000' }] }],
  });
  await admin.createPartitions({ topicPartitions: [{ topic: 'kafkajs-b', count: 2 }] });

  const producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  await producer.send({
    topic: 'kafkajs-a',
    compression: CompressionTypes.GZIP,
    messages: [
      { key: 'k1', value: 'gzip value one', headers: { trace: 'abc', n: '1' } },
      { key: 'k2', value: 'gzip value two', partition: 1 },
      { key: null, value: 'gzip value three, no key', timestamp: '1700000000000' },
    ],
  });
  await producer.send({
    topic: 'kafkajs-a',
    compression: CompressionTypes.None,
    acks: 1,
    messages: [{ key: 'k3', value: 'uncompressed', headers: { h: Buffer.from([0, 1, 2]) } }, { value: null, key: 'tombstone' }],
  });
  // acks=0: no Produce response, so the request is the only frame of its exchange.
  await producer.send({ topic: 'kafkajs-b', acks: 0, messages: [{ value: 'fire and forget' }] });
  await producer.sendBatch({
    compression: CompressionTypes.GZIP,
    topicMessages: [
      { topic: 'kafkajs-a', messages: [{ value: 'batch a' }] },
      { topic: 'kafkajs-b', messages: [{ value: 'batch b' }] },
    ],
  });
  await producer.disconnect();

  await admin.fetchTopicOffsets('kafkajs-a');
  await admin.fetchTopicOffsetsByTimestamp('kafkajs-a', 1_600_000_000_000);
  await admin.deleteTopicRecords({ topic: 'kafkajs-a', partitions: [{ partition: 0, offset: '1' }] });
  await admin.deleteTopics({ topics: ['kafkajs-b'] });
  await admin.disconnect();
}

async function driveKcat(bootstrap: string): Promise<void> {
  const b = ['-b', bootstrap];
  await run('kcat', [...b, '-L']);
  await run('kcat', [...b, '-L', '-t', 'kcat-t', '-J']);
  // librdkafka before 2.8 (confluentinc/librdkafka#4956) sends gzip/snappy/lz4 batches uncompressed
  // unless the broker advertises Produce v0 (and FindCoordinator v0 for lz4); Weir advertises
  // Produce 3+, so today only zstd arrives compressed. Kafka 4.0 advertises Produce v0-v2 for this
  // reason (KAFKA-18659); once Weir does, a re-run captures the other codecs with no change here.
  for (const codec of ['none', 'gzip', 'snappy', 'lz4', 'zstd']) {
    // librdkafka also sends a batch uncompressed when compressing does not make it smaller, so the
    // values repeat themselves enough for every codec to win.
    const filler = ` ${codec}`.repeat(24);
    // -K: splits key from value; -H adds the same headers to every message.
    await run('kcat', [...b, '-P', '-t', 'kcat-t', '-p', '0', '-z', codec, '-K', ':', '-H', `codec=${codec}`, '-H', 'origin=kcat'], {
      input: `k-${codec}-1:one${filler}\nk-${codec}-2:two${filler}\n:keyless${filler}\n`,
    });
  }
  // acks=0: the agent sends no Produce response, so this covers requests the client never hears back on.
  await run('kcat', [...b, '-P', '-t', 'kcat-t', '-p', '0', '-X', 'acks=0', '-X', 'linger.ms=0'], { input: 'fire and forget\n' });
  await run('kcat', [...b, '-C', '-t', 'kcat-t', '-p', '0', '-o', 'beginning', '-e', '-f', '%k %s %h\n']);
  await run('kcat', [...b, '-C', '-t', 'kcat-t', '-p', '0', '-o', '-3', '-e', '-q']);
  await run('kcat', [...b, '-Q', '-t', 'kcat-t:0:1600000000000']);
}

const kafkaPythonScript = String.raw`
import sys, time
from kafka import KafkaProducer, KafkaConsumer, TopicPartition
bootstrap = sys.argv[1]
topic = 'kafka-python-t'
codecs = ('lz4', 'zstd', 'gzip', 'snappy', None)
for codec in codecs:
    p = KafkaProducer(bootstrap_servers=bootstrap, client_id='weir-capture-kafka-python', compression_type=codec, linger_ms=5)
    for i in range(3):
        p.send(topic, key=('k%d' % i).encode(), value=('value %d' % i + (' %s' % codec) * 24).encode(),
               headers=[('codec', str(codec).encode())], partition=0)
    p.flush()
    p.close()
c = KafkaConsumer(bootstrap_servers=bootstrap, client_id='weir-capture-kafka-python', group_id=None,
                  enable_auto_commit=False, consumer_timeout_ms=5000)
tp = TopicPartition(topic, 0)
c.assign([tp])
c.seek_to_beginning(tp)
got = 0
deadline = time.time() + 30
want = 3 * len(codecs)
while got < want and time.time() < deadline:
    for recs in c.poll(timeout_ms=1000).values():
        got += len(recs)
if got < want:
    sys.exit('kafka-python consumer got %d of %d records' % (got, want))
print(c.offsets_for_times({tp: 1600000000000}))
print(c.beginning_offsets([tp]), c.end_offsets([tp]))
c.close()

from kafka.admin import KafkaAdminClient, NewTopic, NewPartitions, ConfigResource, ConfigResourceType
a = KafkaAdminClient(bootstrap_servers=bootstrap, client_id='weir-capture-kafka-python')
a.create_topics([NewTopic('kafka-python-admin', num_partitions=1, replication_factor=1,
                          topic_configs={'retention.ms': '86400000'})])
a.describe_configs([ConfigResource(ConfigResourceType.TOPIC, 'kafka-python-admin')])
a.alter_configs([ConfigResource(ConfigResourceType.TOPIC, 'kafka-python-admin', configs={'retention.ms': '3600000'})])
a.create_partitions({'kafka-python-admin': NewPartitions(2)})
a.delete_topics(['kafka-python-admin'])
a.close()
`;

const confluentScript = String.raw`
import sys, time
from confluent_kafka import Producer, Consumer, TopicPartition, OFFSET_BEGINNING
bootstrap = sys.argv[1]
topic = 'confluent-t'
errors = []
def on_delivery(err, msg):
    if err is not None:
        errors.append(err)
codecs = ('none', 'snappy', 'lz4', 'zstd')
for codec in codecs:
    p = Producer({'bootstrap.servers': bootstrap, 'client.id': 'weir-capture-confluent', 'compression.codec': codec,
                  'linger.ms': 5})
    for i in range(3):
        # Repetitive values: librdkafka sends a batch uncompressed unless compressing shrinks it.
        p.produce(topic, key=b'k%d' % i, value=('value %d' % i + (' ' + codec) * 24).encode(), partition=0,
                  headers=[('codec', codec.encode())], on_delivery=on_delivery)
    if p.flush(30) != 0:
        sys.exit('confluent producer did not flush')
if errors:
    sys.exit('delivery errors: %r' % errors)
# group.id is required by librdkafka even for assign(); offsets are never committed.
c = Consumer({'bootstrap.servers': bootstrap, 'client.id': 'weir-capture-confluent', 'group.id': 'weir-capture',
              'enable.auto.commit': False, 'enable.auto.offset.store': False})
c.assign([TopicPartition(topic, 0, OFFSET_BEGINNING)])
got = 0
deadline = time.time() + 30
want = 3 * len(codecs)
while got < want and time.time() < deadline:
    m = c.poll(1.0)
    if m is not None and m.error() is None:
        got += 1
if got < want:
    sys.exit('confluent consumer got %d of %d records' % (got, want))
print(c.get_watermark_offsets(TopicPartition(topic, 0), timeout=10))
print(c.offsets_for_times([TopicPartition(topic, 0, 1600000000000)], timeout=10))
c.close()

from confluent_kafka.admin import AdminClient, NewTopic, NewPartitions, ConfigResource
a = AdminClient({'bootstrap.servers': bootstrap, 'client.id': 'weir-capture-confluent'})
def wait(futures):
    for f in futures.values():
        f.result(timeout=30)
wait(a.create_topics([NewTopic('confluent-admin', num_partitions=1, replication_factor=1,
                               config={'retention.ms': '86400000'})]))
wait(a.describe_configs([ConfigResource('topic', 'confluent-admin'), ConfigResource('broker', '0')]))
wait(a.alter_configs([ConfigResource('topic', 'confluent-admin', set_config={'retention.ms': '3600000'})]))
wait(a.create_partitions([NewPartitions('confluent-admin', 2)]))
a.list_topics(timeout=10)
wait(a.delete_topics(['confluent-admin']))
`;

async function drivePython(script: string, bootstrap: string): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'weir-capture-py-'));
  try {
    const file = join(dir, 'client.py');
    writeFileSync(file, script);
    await run(PYTHON, [file, bootstrap], { timeoutMs: 120_000 });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const drivers: Record<ClientName, (bootstrap: string) => Promise<void>> = {
  kafkajs: driveKafkajs,
  kcat: driveKcat,
  'kafka-python': (b) => drivePython(kafkaPythonScript, b),
  'confluent-kafka-python': (b) => drivePython(confluentScript, b),
};

function clientLibrary(client: ClientName): string {
  try {
    switch (client) {
      case 'kafkajs': {
        const pkg = JSON.parse(readFileSync(join(repoRoot, 'node_modules/kafkajs/package.json'), 'utf8')) as { version: string };
        return `kafkajs ${pkg.version}`;
      }
      case 'kcat': {
        const out = execFileSync('kcat', ['-V'], { encoding: 'utf8' });
        const m = /Version (\S+) .*?librdkafka (\S+)/s.exec(out);
        return m ? `kcat ${m[1]} (librdkafka ${m[2]})` : 'kcat (unknown version)';
      }
      case 'kafka-python':
        return `kafka-python ${execFileSync(PYTHON, ['-c', 'import kafka; print(kafka.__version__)'], { encoding: 'utf8' }).trim()}`;
      case 'confluent-kafka-python': {
        const v = execFileSync(PYTHON, ['-c', 'import confluent_kafka as c; print(c.version()[0], c.libversion()[0])'], {
          encoding: 'utf8',
        })
          .trim()
          .split(' ');
        return `confluent-kafka-python ${v[0]} (librdkafka ${v[1]})`;
      }
    }
  } catch {
    return `${client} (unknown version)`;
  }
}

// ---------------------------------------------------------------------------------------------
// Selection.

const codecNames = ['none', 'gzip', 'snappy', 'lz4', 'zstd'];

/** Compression codecs of the record batches (or legacy message sets) in `records`. */
function batchCodecs(input: Buffer | readonly Buffer[] | null | undefined, into: Set<string>): void {
  if (input === null || input === undefined) return;
  // Response records may be typed as a list of pieces for the encoder; a decoded one is one Buffer.
  const records = Buffer.isBuffer(input) ? input : Buffer.concat(input as readonly Buffer[]);
  let pos = 0;
  while (pos + 12 <= records.length) {
    const length = records.readInt32BE(pos + 8);
    // The magic byte sits at the same offset in v0/v1 message sets and v2 batches.
    if (pos + 17 > records.length) break;
    const magic = records.readInt8(pos + 16);
    const attributes = magic >= 2 ? (pos + 23 <= records.length ? records.readInt16BE(pos + 21) : -1) : records.readInt8(pos + 17);
    if (attributes >= 0) into.add(codecNames[attributes & 7] ?? `codec${attributes & 7}`);
    pos += 12 + length;
  }
}

/** See the file comment: the codec set of a Produce request's or Fetch response's batches. */
function variantOf(c: Captured): string {
  const codecs = new Set<string>();
  try {
    if (c.direction === 'request' && c.apiKey === ApiKey.Produce) {
      const api = apisByKey.get(c.apiKey)!;
      const { bodyOffset } = decodeRequestHeader(c.frame);
      const body = decodeRequestBody<ProduceRequest>(api, c.apiVersion, c.frame, bodyOffset);
      for (const t of body.topicData) for (const p of t.partitionData) batchCodecs(p.records, codecs);
    } else if (c.direction === 'response' && c.apiKey === ApiKey.Fetch) {
      const api = apisByKey.get(c.apiKey)!;
      const { body } = decodeResponse<FetchResponse>(api, c.apiVersion, c.frame);
      // Response fields are optional in the types (handlers return partial objects) but always decoded.
      for (const t of body.responses ?? []) for (const p of t.partitions ?? []) batchCodecs(p.records, codecs);
    } else return '';
  } catch {
    // Kept under its own variant: a frame the codec cannot decode is exactly what the replay test is for.
    return 'undecodable';
  }
  return codecs.size === 0 ? 'empty' : [...codecs].sort((a, b) => codecNames.indexOf(a) - codecNames.indexOf(b)).join('+');
}

function select(captured: Captured[]): Captured[] {
  const counts = new Map<string, number>();
  const seen = new Set<string>();
  const kept: Captured[] = [];
  let skipped = 0;
  for (const c of [...captured].sort((a, b) => a.seq - b.seq)) {
    if (c.frame.length > MAX_FRAME) {
      skipped++;
      continue;
    }
    // A byte-identical repeat (ApiVersions on every new connection, say) adds nothing as a fixture.
    const bytes = `${c.client}|${c.direction}|${c.frame.toString('base64')}`;
    if (seen.has(bytes)) continue;
    seen.add(bytes);
    const key = `${c.client}|${c.apiKey}|${c.apiVersion}|${c.direction}|${variantOf(c)}`;
    const n = counts.get(key) ?? 0;
    if (n >= EXAMPLES_PER_KEY) continue;
    counts.set(key, n + 1);
    kept.push(c);
  }
  if (skipped > 0) log(`skipped ${skipped} frames over ${MAX_FRAME} bytes`);
  return kept;
}

function apiName(apiKey: number): string {
  return apisByKey.get(apiKey)?.name ?? `Api${apiKey}`;
}

async function main(): Promise<number> {
  const { out, clients } = parseArgs(process.argv.slice(2));
  const dataDir = mkdtempSync(join(tmpdir(), 'weir-capture-'));
  const proxy = new RecordingProxy();
  const proxyPort = await proxy.listen();
  const agent = await startAgent(dataDir, proxyPort);
  proxy.setTarget('127.0.0.1', agent.port);
  const bootstrap = `127.0.0.1:${proxyPort}`;
  log(`agent on 127.0.0.1:${agent.port}, proxy on ${bootstrap}`);

  const failures: string[] = [];
  try {
    // Setup traffic is not recorded: topics the non-admin clients write to exist before they start,
    // so their traffic does not depend on auto-creation timing.
    const { Kafka, logLevel } = await import('kafkajs');
    const setup = new Kafka({ clientId: 'weir-capture-setup', brokers: [bootstrap], logLevel: logLevel.NOTHING }).admin();
    await setup.connect();
    await setup.createTopics({
      topics: ['kcat-t', 'kafka-python-t', 'confluent-t'].map((topic) => ({ topic, numPartitions: 1 })),
      waitForLeaders: true,
    });
    await setup.disconnect();

    for (const client of clients) {
      proxy.recordAs = client;
      const before = proxy.captured.length;
      try {
        await drivers[client](bootstrap);
        log(`${client}: ${proxy.captured.length - before} frames`);
      } catch (e) {
        failures.push(`${client}: ${(e as Error).message}`);
        log(`${client} FAILED: ${(e as Error).message}`);
      }
      // Let connections the client left open drain before the next client's traffic starts.
      await new Promise((r) => setTimeout(r, 500));
      proxy.recordAs = null;
    }
  } finally {
    await proxy.close();
    await stopAgent(agent.child);
    rmSync(dataDir, { recursive: true, force: true });
  }

  const kept = select(proxy.captured);
  const manifest: ManifestEntry[] = [];
  const libraries = new Map<ClientName, string>();
  for (const client of clients) {
    libraries.set(client, clientLibrary(client));
    rmSync(join(out, client), { recursive: true, force: true });
    mkdirSync(join(out, client), { recursive: true });
  }
  const perClient = new Map<ClientName, number>();
  for (const c of kept) {
    const n = (perClient.get(c.client) ?? 0) + 1;
    perClient.set(c.client, n);
    const file = `${c.client}/${String(n).padStart(4, '0')}-${apiName(c.apiKey)}-v${c.apiVersion}-${c.direction}.bin`;
    writeFileSync(join(out, file), c.frame);
    manifest.push({
      file,
      client: c.client,
      clientLibrary: libraries.get(c.client)!,
      direction: c.direction,
      apiKey: c.apiKey,
      apiName: apiName(c.apiKey),
      apiVersion: c.apiVersion,
      correlationId: c.correlationId,
      variant: variantOf(c),
      size: c.frame.length,
    });
  }

  // A partial run (--clients) keeps the other clients' entries.
  const manifestPath = join(out, 'manifest.json');
  let previous: ManifestEntry[] = [];
  try {
    previous = (JSON.parse(readFileSync(manifestPath, 'utf8')) as { fixtures: ManifestEntry[] }).fixtures;
  } catch {
    previous = [];
  }
  const merged = [...previous.filter((e) => !clients.includes(e.client)), ...manifest].sort(
    (a, b) => ALL_CLIENTS.indexOf(a.client) - ALL_CLIENTS.indexOf(b.client) || a.file.localeCompare(b.file),
  );
  const total = merged.reduce((s, e) => s + e.size, 0);
  writeFileSync(
    manifestPath,
    `${JSON.stringify(
      {
        description: 'Kafka protocol frames (size prefix stripped) captured by scripts/capture-frames.ts between real clients and a Weir agent.',
        fixtures: merged,
      },
      null,
      2,
    )}\n`,
  );

  for (const client of clients) {
    const mine = manifest.filter((e) => e.client === client);
    const byApi = new Map<string, number>();
    for (const e of mine) byApi.set(e.apiName, (byApi.get(e.apiName) ?? 0) + 1);
    log(`${client} (${libraries.get(client)}): ${mine.length} fixtures: ${[...byApi].map(([k, v]) => `${k} ${v}`).join(', ')}`);
  }
  log(`${merged.length} fixtures, ${total} bytes in ${out}`);
  if (total > MAX_TOTAL) failures.push(`fixtures total ${total} bytes, over the ${MAX_TOTAL} byte budget`);
  for (const f of failures) log(`FAILURE ${f}`);
  return failures.length === 0 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    log(`fatal: ${(e as Error).stack ?? String(e)}`);
    process.exit(1);
  },
);
