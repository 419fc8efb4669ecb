/**
 * Producers that stream for a while (paced) so a failure can be injected mid-stream, for the
 * cluster failover tests: confluent-kafka-python (librdkafka) in a child process, and kafkajs in
 * this process. Both report exactly which records were acknowledged.
 */
import { Partitioners } from 'kafkajs';
import { setTimeout as sleep } from 'node:timers/promises';
import { kafkajsProduce } from './kafkajs.js';
import type { DeliveryResult, ProduceRecord } from './py-clients.js';
import { runPython } from './python.js';
import { patientKafka } from './weir-cluster.js';

/**
 * Produces `perPartition` records to each partition, value "<tag>:<partition>:<i>", pausing
 * every 10 rounds so the stream outlasts the fault. Reports every delivery and every error.
 */
const PY_STREAMING_PRODUCER = String.raw`
import json, sys, time
from confluent_kafka import Producer

req = json.load(sys.stdin)
client_errors = []
conf = {
    'bootstrap.servers': req['bootstrap'],
    'enable.idempotence': req['idempotent'],
    'acks': 'all',
    'linger.ms': 5,
    # Long enough to ride out the fault: nothing may time out, everything is retried.
    'message.timeout.ms': 120000,
    'reconnect.backoff.ms': 50,
    'reconnect.backoff.max.ms': 500,
    'retry.backoff.ms': 50,
    'topic.metadata.refresh.interval.ms': 1000,
    'error_cb': lambda err: client_errors.append({'name': err.name(), 'str': err.str(), 'fatal': err.fatal()}),
}
p = Producer(conf)
delivered = []
failed = []

def report(part, i):
    def cb(err, msg):
        if err is not None:
            failed.append([part, i, err.name(), err.str()])
        else:
            delivered.append([part, i, msg.offset()])
    return cb

for i in range(req['perPartition']):
    for part in range(req['partitions']):
        value = '%s:%d:%d' % (req['tag'], part, i)
        while True:
            try:
                p.produce(req['topic'], value=value.encode(), partition=part, on_delivery=report(part, i))
                break
            except BufferError:
                p.poll(0.05)
    p.poll(0)
    if i % 10 == 9:
        time.sleep(req['pauseS'])
undelivered = p.flush(150)
sys.stdout.write(json.dumps({'delivered': delivered, 'failed': failed, 'undelivered': undelivered,
                             'fatal': [e for e in client_errors if e['fatal']]}))
`;

export interface PyStreamResult {
  /** [partition, i, offset] per acknowledged record. */
  delivered: [number, number, number][];
  failed: [number, number, string, string][];
  undelivered: number;
  fatal: unknown[];
}

export function pyStream(o: { bootstrap: string; topic: string; tag: string; partitions: number; perPartition: number; idempotent: boolean; pauseS?: number }): Promise<PyStreamResult> {
  return runPython<PyStreamResult>(PY_STREAMING_PRODUCER, { pauseS: 0.02, ...o }, { timeoutMs: 170_000 });
}

/** "<tag>:<partition>:<i>" as PY_STREAMING_PRODUCER writes it. */
export function pyValue(tag: string, partition: number, i: number): string {
  return `${tag}:${partition}:${i}`;
}

export interface KafkajsStream {
  /** Records acknowledged so far. */
  acked(): number;
  /** Resolves when every record is acknowledged (or, idempotent, at the first failed send). */
  done: Promise<{ delivered: DeliveryResult[]; sendErrors: string[] }>;
}

/**
 * Sends `records` in chunks, one send at a time, pausing `pauseMs` between chunks. Idempotent: a
 * failed send ends the stream (re-sending it would be a new, unfenced send, so exactly-once could
 * not be claimed). Not idempotent: a failed send is retried as it is (at least once), up to 30 times.
 */
export function kafkajsStream(o: { brokers: string[]; topic: string; records: ProduceRecord[]; idempotent: boolean; chunk?: number; pauseMs?: number }): KafkajsStream {
  const chunk = o.chunk ?? 100;
  const delivered: DeliveryResult[] = [];
  const sendErrors: string[] = [];
  const producer = patientKafka(o.brokers, `stream-${o.topic}`).producer({
    createPartitioner: Partitioners.DefaultPartitioner,
    ...(o.idempotent ? { idempotent: true, maxInFlightRequests: 1 } : {}),
  });
  const done = (async () => {
    await producer.connect();
    try {
      for (let start = 0; start < o.records.length; start += chunk) {
        const slice = o.records.slice(start, start + chunk);
        for (let attempt = 1; ; attempt++) {
          try {
            // One send() per partition: a send() spanning several leaders can resolve without
            // ever sending the records of a partition whose leader changed between its retries
            // (kafkajs keeps the other leader's earlier response and skips that broker).
            const out: DeliveryResult[] = new Array<DeliveryResult>(slice.length);
            for (const p of new Set(slice.map((r) => r.partition))) {
              const idx = slice.flatMap((r, i) => (r.partition === p ? [i] : []));
              const got = await kafkajsProduce(producer, o.topic, idx.map((i) => slice[i]!), { chunk });
              idx.forEach((i, k) => (out[i] = got[k]!));
            }
            delivered.push(...out);
            break;
          } catch (e) {
            sendErrors.push(`records ${start}..${start + slice.length - 1}, attempt ${attempt}: ${(e as Error).message}`);
            if (o.idempotent || attempt >= 30) return { delivered, sendErrors };
            await sleep(200);
          }
        }
        await sleep(o.pauseMs ?? 20);
      }
      return { delivered, sendErrors };
    } finally {
      await producer.disconnect();
    }
  })();
  return { acked: () => delivered.length, done };
}
