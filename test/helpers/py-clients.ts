/**
 * The Python Kafka clients the end-to-end tests drive: confluent-kafka-python (librdkafka) and
 * kafka-python (pure Python), as apt installs them. One inline Python program serves every
 * operation so its helpers are written once; each call runs it with a JSON request on stdin
 * ({"op": ..., ...}) and reads a JSON reply from stdout. Keys, values and header values cross
 * as UTF-8 strings, null meaning absent.
 */
import { runPython } from './python.js';

const PY_CLIENTS = String.raw`
import json, sys, time

def enc(s):
    return None if s is None else s.encode('utf-8')

def dec(b):
    return None if b is None else bytes(b).decode('utf-8', 'replace')

def headers_in(h):
    return [(k, enc(v)) for k, v in (h or [])]

def headers_out(h):
    return [[k, dec(v)] for k, v in (h or [])]

def deadline_of(req, default_s=45):
    return time.time() + req.get('timeoutS', default_s)

# ---------------------------------------------------------------- confluent-kafka-python

def confluent_error(err):
    return {'code': err.code(), 'name': err.name(), 'str': err.str()}

def confluent_produce(req):
    from confluent_kafka import Producer
    conf = {'bootstrap.servers': req['bootstrap'], 'acks': 'all', 'linger.ms': 5,
            'enable.idempotence': False}
    conf.update(req.get('config', {}))
    p = Producer(conf)
    records = req['records']
    results = [None] * len(records)

    def on_delivery(i):
        def cb(err, msg):
            if err is not None:
                results[i] = {'error': confluent_error(err)}
            else:
                results[i] = {'partition': msg.partition(), 'offset': msg.offset(),
                              'timestamp': msg.timestamp()[1]}
        return cb

    for i, r in enumerate(records):
        kwargs = {}
        if r.get('partition') is not None:
            kwargs['partition'] = r['partition']
        if r.get('timestamp') is not None:
            kwargs['timestamp'] = r['timestamp']
        if r.get('headers'):
            kwargs['headers'] = headers_in(r['headers'])
        while True:
            try:
                p.produce(req['topic'], value=enc(r.get('value')), key=enc(r.get('key')),
                          on_delivery=on_delivery(i), **kwargs)
                break
            except BufferError:
                p.poll(0.05)
        p.poll(0)
        if req.get('flushEach'):
            p.flush(req.get('timeoutS', 30))
    undelivered = p.flush(req.get('timeoutS', 30))
    return {'results': results, 'undelivered': undelivered}

def confluent_consumer(req):
    from confluent_kafka import Consumer
    # assign() with explicit offsets needs no group coordination; the group.id is only there
    # because librdkafka's KafkaConsumer requires one. Nothing is ever committed.
    conf = {'bootstrap.servers': req['bootstrap'], 'group.id': req.get('groupId', 'weir-e2e-unused'),
            'enable.auto.commit': False, 'enable.partition.eof': True,
            'auto.offset.reset': 'earliest'}
    conf.update(req.get('config', {}))
    return Consumer(conf)

def confluent_partitions(c, topic, timeout_s=10):
    md = c.list_topics(topic, timeout=timeout_s)
    t = md.topics[topic]
    if t.error is not None:
        raise RuntimeError('metadata for %s: %s' % (topic, t.error))
    return sorted(t.partitions.keys())

def confluent_consume(req):
    from confluent_kafka import TopicPartition, KafkaError
    c = confluent_consumer(req)
    topic = req['topic']
    parts = confluent_partitions(c, topic)
    start = req.get('startOffset', 0)
    c.assign([TopicPartition(topic, p, start) for p in parts])
    deadline = deadline_of(req)
    eof = set()
    out = []
    while len(eof) < len(parts):
        if time.time() > deadline:
            raise TimeoutError('confluent consume: EOF on %s of %s partitions after %d records' % (sorted(eof), parts, len(out)))
        m = c.poll(0.5)
        if m is None:
            continue
        if m.error() is not None:
            if m.error().code() == KafkaError._PARTITION_EOF:
                eof.add(m.partition())
                continue
            raise RuntimeError('confluent consume error: %s' % m.error())
        ts_type, ts = m.timestamp()
        out.append({'partition': m.partition(), 'offset': m.offset(), 'key': dec(m.key()),
                    'value': dec(m.value()), 'headers': headers_out(m.headers()),
                    'timestamp': ts, 'timestampType': ts_type})
    c.close()
    return {'partitions': parts, 'records': out}

def confluent_offsets(req):
    from confluent_kafka import TopicPartition
    c = confluent_consumer(req)
    topic = req['topic']
    parts = confluent_partitions(c, topic)
    watermarks = {}
    for p in parts:
        lo, hi = c.get_watermark_offsets(TopicPartition(topic, p), timeout=10, cached=False)
        watermarks[str(p)] = {'low': lo, 'high': hi}
    for_times = []
    for ts in req.get('timestamps', []):
        res = c.offsets_for_times([TopicPartition(topic, p, ts) for p in parts], timeout=10)
        for_times.append({str(tp.partition): {'offset': tp.offset,
                                              'error': None if tp.error is None else str(tp.error)}
                          for tp in res})
    c.close()
    return {'partitions': parts, 'watermarks': watermarks, 'forTimes': for_times}

# ---------------------------------------------------------------- kafka-python

# kafka-python starts by probing the broker version (ApiVersions, with a 0.1 s sleep hack) within
# this budget, 2 s by default: too tight for a 2-core machine running two test files at once.
KAFKA_PYTHON_PROBE_MS = 10000

def kafka_python_produce(req):
    from kafka import KafkaProducer
    kw = {'bootstrap_servers': req['bootstrap'], 'acks': 'all', 'linger_ms': 5,
          'api_version_auto_timeout_ms': KAFKA_PYTHON_PROBE_MS}
    kw.update(req.get('config', {}))
    p = KafkaProducer(**kw)
    records = req['records']
    futures = []
    for r in records:
        try:
            futures.append(p.send(req['topic'], value=enc(r.get('value')), key=enc(r.get('key')),
                                  headers=headers_in(r.get('headers')),
                                  partition=r.get('partition'), timestamp_ms=r.get('timestamp')))
        except Exception as e:
            futures.append(e)
        if req.get('flushEach'):
            p.flush(req.get('timeoutS', 30))
    p.flush(req.get('timeoutS', 30))
    results = []
    for f in futures:
        if isinstance(f, Exception):
            results.append({'error': {'name': type(f).__name__, 'str': str(f)}})
            continue
        try:
            md = f.get(timeout=req.get('timeoutS', 30))
            results.append({'partition': md.partition, 'offset': md.offset, 'timestamp': md.timestamp})
        except Exception as e:
            results.append({'error': {'name': type(e).__name__, 'str': str(e)}})
    p.close(timeout=10)
    return {'results': results}

def kafka_python_consumer(req):
    from kafka import KafkaConsumer
    # group_id=None: no coordinator, no commits; partitions are assigned by hand.
    kw = {'bootstrap_servers': req['bootstrap'], 'group_id': None, 'enable_auto_commit': False,
          'auto_offset_reset': 'earliest', 'api_version_auto_timeout_ms': KAFKA_PYTHON_PROBE_MS}
    kw.update(req.get('config', {}))
    return KafkaConsumer(**kw)

def kafka_python_partitions(c, topic, deadline):
    while True:
        parts = c.partitions_for_topic(topic)
        if parts:
            return sorted(parts)
        if time.time() > deadline:
            raise TimeoutError('kafka-python: no partitions for topic %s' % topic)
        time.sleep(0.1)

def kafka_python_consume(req):
    from kafka import TopicPartition
    c = kafka_python_consumer(req)
    topic = req['topic']
    deadline = deadline_of(req)
    parts = kafka_python_partitions(c, topic, deadline)
    tps = [TopicPartition(topic, p) for p in parts]
    c.assign(tps)
    if req.get('startOffset') is None:
        c.seek_to_beginning(*tps)
    else:
        for tp in tps:
            c.seek(tp, req['startOffset'])
    end = c.end_offsets(tps)
    out = []
    while any(c.position(tp) < end[tp] for tp in tps):
        if time.time() > deadline:
            raise TimeoutError('kafka-python consume: positions %s, end %s after %d records' % (
                {tp.partition: c.position(tp) for tp in tps}, {tp.partition: o for tp, o in end.items()}, len(out)))
        batch = c.poll(timeout_ms=500)
        for tp in sorted(batch.keys(), key=lambda t: t.partition):
            for m in batch[tp]:
                out.append({'partition': m.partition, 'offset': m.offset, 'key': dec(m.key),
                            'value': dec(m.value), 'headers': headers_out(m.headers),
                            'timestamp': m.timestamp, 'timestampType': m.timestamp_type})
    c.close()
    return {'partitions': parts, 'end': {str(tp.partition): o for tp, o in end.items()}, 'records': out}

def kafka_python_offsets(req):
    from kafka import TopicPartition
    c = kafka_python_consumer(req)
    topic = req['topic']
    parts = kafka_python_partitions(c, topic, deadline_of(req))
    tps = [TopicPartition(topic, p) for p in parts]
    begin = c.beginning_offsets(tps)
    end = c.end_offsets(tps)
    for_times = []
    for ts in req.get('timestamps', []):
        res = c.offsets_for_times({tp: ts for tp in tps})
        for_times.append({str(tp.partition): (None if v is None else {'offset': v.offset, 'timestamp': v.timestamp})
                          for tp, v in res.items()})
    c.close()
    return {'partitions': parts,
            'beginning': {str(tp.partition): o for tp, o in begin.items()},
            'end': {str(tp.partition): o for tp, o in end.items()},
            'forTimes': for_times}

# ----------------------------------------------------------------

OPS = {
    'confluent_produce': confluent_produce,
    'confluent_consume': confluent_consume,
    'confluent_offsets': confluent_offsets,
    'kafka_python_produce': kafka_python_produce,
    'kafka_python_consume': kafka_python_consume,
    'kafka_python_offsets': kafka_python_offsets,
}

def main():
    # Client logs go to stderr, which the test prints only when the call fails.
    import logging
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format='%(asctime)s %(levelname)s %(name)s: %(message)s')
    req = json.load(sys.stdin)
    res = OPS[req['op']](req)
    sys.stdout.write(json.dumps(res))
    sys.stdout.flush()

main()
`;

/** The Python program, for a syntax check without a broker. */
export const PY_CLIENTS_SOURCE = PY_CLIENTS;

export interface ProduceRecord {
  key: string | null;
  value: string | null;
  headers?: Array<[string, string | null]>;
  partition?: number;
  /** Create time in ms since the epoch; default: the client's clock. */
  timestamp?: number;
}

export interface DeliveryError {
  /** librdkafka's error code (confluent only), e.g. 10 for MSG_SIZE_TOO_LARGE. */
  code?: number;
  /** librdkafka's error name, or kafka-python's exception class name. */
  name: string;
  str: string;
}

/** One record's delivery report: where it landed, or why it did not. */
export interface DeliveryResult {
  partition?: number;
  offset?: number;
  timestamp?: number;
  error?: DeliveryError;
}

export interface ConsumedRecord {
  partition: number;
  offset: number;
  key: string | null;
  value: string | null;
  headers: Array<[string, string | null]>;
  timestamp: number;
  timestampType: number;
}

interface ClientRequest {
  bootstrap: string;
  topic: string;
  /** Client properties: librdkafka names for confluent, KafkaProducer/KafkaConsumer kwargs for kafka-python. */
  config?: Record<string, unknown>;
  /** The Python side's own deadline; the process is killed 15 s after it. */
  timeoutS?: number;
}

export interface ProduceRequest extends ClientRequest {
  records: ProduceRecord[];
  /** Flush after every record, so each goes in its own request (errors stay per record). */
  flushEach?: boolean;
}

export interface ConsumeRequest extends ClientRequest {
  /** Default: the beginning of every partition. */
  startOffset?: number;
  groupId?: string;
}

export interface OffsetsRequest extends ClientRequest {
  timestamps?: number[];
  groupId?: string;
}

function call<T>(op: string, req: ClientRequest): Promise<T> {
  const timeoutMs = ((req.timeoutS ?? 45) + 15) * 1000;
  return runPython<T>(PY_CLIENTS, { op, ...req }, { timeoutMs });
}

export function confluentProduce(req: ProduceRequest): Promise<{ results: DeliveryResult[]; undelivered: number }> {
  return call('confluent_produce', req);
}

export function confluentConsume(req: ConsumeRequest): Promise<{ partitions: number[]; records: ConsumedRecord[] }> {
  return call('confluent_consume', req);
}

export interface ConfluentOffsets {
  partitions: number[];
  watermarks: Record<string, { low: number; high: number }>;
  /** One entry per requested timestamp: partition → offset (-1 when no record has a timestamp >= ts). */
  forTimes: Array<Record<string, { offset: number; error: string | null }>>;
}

export function confluentOffsets(req: OffsetsRequest): Promise<ConfluentOffsets> {
  return call('confluent_offsets', req);
}

export function kafkaPythonProduce(req: ProduceRequest): Promise<{ results: DeliveryResult[] }> {
  return call('kafka_python_produce', req);
}

export function kafkaPythonConsume(
  req: ConsumeRequest,
): Promise<{ partitions: number[]; end: Record<string, number>; records: ConsumedRecord[] }> {
  return call('kafka_python_consume', req);
}

export interface KafkaPythonOffsets {
  partitions: number[];
  beginning: Record<string, number>;
  end: Record<string, number>;
  /** One entry per requested timestamp: partition → first offset with timestamp >= ts, or null. */
  forTimes: Array<Record<string, { offset: number; timestamp: number } | null>>;
}

export function kafkaPythonOffsets(req: OffsetsRequest): Promise<KafkaPythonOffsets> {
  return call('kafka_python_offsets', req);
}
