/**
 * A consumer-group member in a long-running Python process: confluent-kafka-python (librdkafka)
 * or kafka-python, with Debian's /usr/bin/python3 (see python.ts). The process reads its settings
 * as one JSON line on stdin, then takes commands ({"cmd": "close"}) on later lines; it writes one
 * JSON event per line on stdout: its assignment whenever it changes, and each batch of records
 * after committing past them synchronously (manual commits, auto commit off).
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { PYTHON } from './python.js';
import { waitUntil, type GroupMember, type GroupMemberOptions, type GroupRecord } from './group-member.js';

const PY_GROUP_MEMBER = String.raw`
import json, sys, threading, time, traceback

settings = json.loads(sys.stdin.readline())
stop = threading.Event()

def read_commands():
    for line in sys.stdin:
        if line.strip() and json.loads(line).get('cmd') == 'close':
            break
    stop.set()

threading.Thread(target=read_commands, daemon=True).start()
out_lock = threading.Lock()

def emit(event):
    with out_lock:
        sys.stdout.write(json.dumps(event) + '\n')
        sys.stdout.flush()

def dec(b):
    return None if b is None else bytes(b).decode('utf-8', 'replace')

topic = settings['topic']

def run_confluent():
    from confluent_kafka import Consumer, KafkaError, KafkaException, TopicPartition
    conf = {'bootstrap.servers': settings['bootstrap'], 'group.id': settings['groupId'],
            'enable.auto.commit': False, 'auto.offset.reset': 'earliest',
            'session.timeout.ms': 6000, 'heartbeat.interval.ms': 300,
            'topic.metadata.refresh.interval.ms': 1000, 'fetch.wait.max.ms': 200}
    conf.update(settings.get('config', {}))
    c = Consumer(conf)
    c.subscribe([topic])
    last = None
    while not stop.is_set():
        msgs = c.consume(num_messages=500, timeout=0.2)
        batch = []
        offsets = {}
        for m in msgs:
            if m.error() is not None:
                if m.error().code() != KafkaError._PARTITION_EOF:
                    emit({'event': 'error', 'message': str(m.error())})
                continue
            batch.append([m.partition(), m.offset(), dec(m.value())])
            offsets[m.partition()] = m.offset() + 1
        if batch:
            try:
                c.commit(offsets=[TopicPartition(topic, p, o) for p, o in offsets.items()], asynchronous=False)
                emit({'event': 'records', 'records': batch})
            except KafkaException as e:
                emit({'event': 'commit_error', 'message': str(e), 'records': batch})
        now = sorted(tp.partition for tp in c.assignment() if tp.topic == topic)
        if now != last:
            last = now
            emit({'event': 'assignment', 'partitions': now})
    c.close()

def run_kafka_python():
    from kafka import KafkaConsumer, TopicPartition
    from kafka.structs import OffsetAndMetadata
    kw = {'bootstrap_servers': settings['bootstrap'], 'group_id': settings['groupId'],
          'enable_auto_commit': False, 'auto_offset_reset': 'earliest',
          'session_timeout_ms': 6000, 'heartbeat_interval_ms': 300, 'fetch_max_wait_ms': 200,
          'metadata_max_age_ms': 1000, 'api_version_auto_timeout_ms': 10000}
    kw.update(settings.get('config', {}))
    c = KafkaConsumer(**kw)
    c.subscribe([topic])
    last = None
    while not stop.is_set():
        polled = c.poll(timeout_ms=200)
        batch = []
        offsets = {}
        for tp in sorted(polled.keys(), key=lambda t: t.partition):
            for m in polled[tp]:
                batch.append([m.partition, m.offset, dec(m.value)])
                offsets[TopicPartition(topic, m.partition)] = OffsetAndMetadata(m.offset + 1, '')
        if batch:
            try:
                c.commit(offsets)
                emit({'event': 'records', 'records': batch})
            except Exception as e:
                emit({'event': 'commit_error', 'message': '%s: %s' % (type(e).__name__, e), 'records': batch})
        now = sorted(tp.partition for tp in c.assignment() if tp.topic == topic)
        if now != last:
            last = now
            emit({'event': 'assignment', 'partitions': now})
    c.close()

import logging
logging.basicConfig(level=logging.INFO, stream=sys.stderr, format='%(asctime)s %(levelname)s %(name)s: %(message)s')
try:
    (run_confluent if settings['client'] == 'confluent' else run_kafka_python)()
    emit({'event': 'closed'})
except Exception:
    emit({'event': 'error', 'message': traceback.format_exc()})
    sys.exit(1)
`;

export type PyGroupClient = 'confluent' | 'kafka-python';

export interface PyGroupMember extends GroupMember {
  /** Records consumed whose commit failed (so not in records()); the commit may still have been stored. */
  uncommittedRecords(): GroupRecord[];
}

/** Process groups still running; killed if the test process exits first. */
const live = new Set<number>();
process.on('exit', () => {
  for (const pid of live) {
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
});

/**
 * Starts a member. `config` is librdkafka properties for confluent (e.g.
 * {'partition.assignment.strategy': 'cooperative-sticky'}) or KafkaConsumer kwargs for kafka-python.
 */
export async function startPyGroupMember(client: PyGroupClient, o: GroupMemberOptions & { config?: Record<string, unknown> }): Promise<PyGroupMember> {
  const env: NodeJS.ProcessEnv = { ...process.env, PYTHONUNBUFFERED: '1', PYTHONDONTWRITEBYTECODE: '1' };
  delete env.PYTHONPATH;
  delete env.PYTHONHOME;
  const child: ChildProcessWithoutNullStreams = spawn(PYTHON, ['-c', PY_GROUP_MEMBER], { stdio: ['pipe', 'pipe', 'pipe'], env, detached: true });
  if (child.pid !== undefined) live.add(child.pid);
  let assignment: number[] = [];
  const history: number[][] = [[]];
  const records: GroupRecord[] = [];
  const commitErrors: string[] = [];
  const uncommitted: GroupRecord[] = [];
  const errors: string[] = [];
  let stderr = '';
  let closed = false;
  let pending = '';
  const exited = new Promise<number | null>((resolve) => {
    child.on('close', (code) => {
      if (child.pid !== undefined) live.delete(child.pid);
      resolve(code);
    });
  });
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (d: string) => {
    stderr += d;
    if (stderr.length > 200_000) stderr = stderr.slice(-100_000);
  });
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (d: string) => {
    pending += d;
    let nl: number;
    while ((nl = pending.indexOf('\n')) >= 0) {
      const line = pending.slice(0, nl);
      pending = pending.slice(nl + 1);
      if (line.trim() === '') continue;
      const ev = JSON.parse(line) as { event: string; partitions?: number[]; records?: Array<[number, number, string]>; message?: string };
      if (ev.event === 'assignment') history.push((assignment = ev.partitions!));
      else if (ev.event === 'records') for (const [partition, offset, value] of ev.records!) records.push({ partition, offset, value, member: o.name });
      else if (ev.event === 'commit_error') {
        commitErrors.push(`${ev.message} (${ev.records!.length} records)`);
        for (const [partition, offset, value] of ev.records!) uncommitted.push({ partition, offset, value, member: o.name });
      }
      else if (ev.event === 'error') errors.push(ev.message!);
      else if (ev.event === 'closed') closed = true;
    }
  });
  child.stdin.on('error', () => {});
  child.stdin.write(`${JSON.stringify({ client, bootstrap: o.bootstrap, topic: o.topic, groupId: o.groupId, config: o.config ?? {} })}\n`);
  const log = (): string => `--- ${o.name} (${client}) errors ---\n${errors.join('\n')}\n--- stderr (tail) ---\n${stderr.slice(-6000)}`;
  return {
    name: o.name,
    assignment: () => assignment,
    assignmentHistory: () => history,
    records: () => records,
    commitErrors: () => [...commitErrors, ...errors],
    uncommittedRecords: () => uncommitted,
    waitFor: (pred, what, timeoutMs = 45_000) =>
      waitUntil(() => {
        if (errors.length > 0) throw new Error(`${o.name} failed while waiting for ${what}\n${log()}`);
        return pred();
      }, `${o.name}: ${what}`, timeoutMs, log),
    async close() {
      child.stdin.end(`${JSON.stringify({ cmd: 'close' })}\n`);
      let timer: NodeJS.Timeout | undefined;
      const code = await Promise.race([exited, new Promise<'timeout'>((r) => (timer = setTimeout(() => r('timeout'), 30_000)))]);
      clearTimeout(timer);
      if (code === 'timeout') {
        if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
        throw new Error(`${o.name} did not close within 30 s\n${log()}`);
      }
      if (code !== 0 || !closed) throw new Error(`${o.name} exited with ${code}\n${log()}`);
    },
    log,
  };
}
