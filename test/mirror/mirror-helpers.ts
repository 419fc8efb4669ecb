/**
 * Helpers for the mirror's end-to-end tests: `weir mirror` as a child process (the compiled CLI,
 * killable with SIGKILL), raw reads of a partition on our codec (whole batches, bytes as stored),
 * and the Weir-only APIs called directly.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { openConnection } from '../../connectors/mirror/clusters.js';
import type { BrokerConnection } from '../../core/client/broker-connection.js';
import { scanBatches } from '../../core/records/batch.js';
import { decodeBatchRecords } from '../../core/records/records.js';
import { Fetch, ListOffsets } from '../../core/protocol/generated/index.js';
import { AGENT_CLI } from '../helpers/agent-process.js';

export const TOKEN = 'test-mirror-token-0123456789';

export interface MirrorProcess {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

const running = new Set<ChildProcess>();
process.on('exit', () => {
  for (const c of running) c.kill('SIGKILL');
});

export function startMirror(args: string[]): MirrorProcess {
  // As the agent helper: a developer's WEIR_* variables must not change what a test runs.
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('WEIR_')));
  const child = spawn(process.execPath, [AGENT_CLI, 'mirror', '--mirror-token', TOKEN, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env });
  running.add(child);
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) =>
    child.on('exit', (code) => {
      running.delete(child);
      resolve(code);
    }),
  );
  return { child, output: () => out, exited };
}

export async function stopMirror(m: MirrorProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (m.child.exitCode === null && m.child.signalCode === null) m.child.kill(signal);
  await m.exited;
}

export async function waitFor(what: string, cond: () => Promise<boolean> | boolean, timeoutMs = 60_000, everyMs = 50): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await cond()) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

export async function connect(bootstrap: string): Promise<BrokerConnection> {
  const [host, port] = bootstrap.split(':');
  return openConnection({ host: host!, port: Number(port) }, { clientId: 'mirror-test', timeoutMs: 15_000, responseBytesMax: 256 * 1024 * 1024 });
}

/** Latest (-1n) or earliest (-2n) offsets of a topic's partitions. */
export async function offsets(conn: BrokerConnection, topic: string, partitions: number, timestamp: -1n | -2n): Promise<number[]> {
  const res = await conn.send(ListOffsets, await conn.version(ListOffsets, 7), {
    replicaId: -1,
    isolationLevel: 0,
    timeoutMs: 15_000,
    topics: [{ name: topic, partitions: Array.from({ length: partitions }, (_, partitionIndex) => ({ partitionIndex, currentLeaderEpoch: -1, timestamp, maxNumOffsets: 1 })) }],
  });
  const out: number[] = [];
  for (const p of res.topics?.[0]?.partitions ?? []) {
    if (p.errorCode) throw new Error(`ListOffsets ${topic}-${p.partitionIndex}: error ${p.errorCode}`);
    out[p.partitionIndex!] = Number(p.offset);
  }
  return out;
}

export interface ReadBatch {
  baseOffset: number;
  /** The batch as stored, from its attributes on (what the CRC covers, plus the CRC). */
  body: Buffer;
}

export interface ReadRecordFull {
  offset: number;
  timestamp: number;
  key: string | null;
  value: string | null;
  headers: [string, string | null][];
}

/** Every batch and record of a partition from `from` to its high watermark. */
export async function readPartition(conn: BrokerConnection, topic: string, partition: number, from: number): Promise<{ batches: ReadBatch[]; records: ReadRecordFull[]; highWatermark: number }> {
  const batches: ReadBatch[] = [];
  const records: ReadRecordFull[] = [];
  let offset = from;
  let hw = Infinity;
  while (offset < hw) {
    const res = await conn.send(Fetch, await conn.version(Fetch, 12), {
      clusterId: null,
      replicaId: -1,
      replicaState: { replicaId: -1, replicaEpoch: -1n },
      maxWaitMs: 0,
      minBytes: 0,
      maxBytes: 8 << 20,
      isolationLevel: 0,
      sessionId: 0,
      sessionEpoch: -1,
      topics: [{ topic, topicId: '00000000-0000-0000-0000-000000000000', partitions: [{ partition, currentLeaderEpoch: -1, fetchOffset: BigInt(offset), lastFetchedEpoch: -1, logStartOffset: -1n, partitionMaxBytes: 8 << 20, replicaDirectoryId: '00000000-0000-0000-0000-000000000000' }] }],
      forgottenTopicsData: [],
      rackId: '',
    });
    const p = res.responses?.[0]?.partitions?.[0];
    if (!p || p.errorCode) throw new Error(`Fetch ${topic}-${partition}@${offset}: error ${p?.errorCode}`);
    hw = Number(p.highWatermark);
    const data = p.records as Buffer | null;
    if (!data || data.length === 0) break;
    for (const h of scanBatches(data, { allowCompacted: true })) {
      const bytes = data.subarray(h.position, h.position + h.sizeBytes);
      const base = Number(h.baseOffset);
      if (base + h.lastOffsetDelta < offset) continue;
      batches.push({ baseOffset: base, body: Buffer.from(bytes.subarray(21)) });
      for (const r of await decodeBatchRecords(bytes, { ...h, position: 0 })) {
        records.push({
          offset: Number(r.offset),
          // LogAppendTime batches: every record's timestamp is the batch's max timestamp.
          timestamp: h.timestampType === 'log-append' ? h.maxTimestamp : r.timestamp,
          key: r.key?.toString('utf8') ?? null,
          value: r.value?.toString('utf8') ?? null,
          headers: r.headers.map((x) => [x.key, x.value?.toString('utf8') ?? null]),
        });
      }
      offset = base + h.lastOffsetDelta + 1;
    }
  }
  return { batches, records, highWatermark: hw === Infinity ? offset : hw };
}
