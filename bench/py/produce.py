"""
Produce load generator for the Weir benchmarks: confluent-kafka-python (librdkafka) in a tight
loop, as fast as the client allows, acks=all, then flush() so every record is acknowledged
before the clock stops.

Input: one JSON object on stdin:
  bootstrap, topic, recordBytes, count,
  config (optional): librdkafka settings that override the defaults below.
Output: one JSON object on stdout: sent, failed, bytes, seconds (first produce() to last ack),
  start/end (the same instants as Unix times, to combine parallel producers), enqueueSeconds.

Run with Debian's /usr/bin/python3 (the interpreter that sees python3-confluent-kafka).
"""
import json
import os
import sys
import time

from confluent_kafka import Producer

req = json.load(sys.stdin)
failed = [0]
first_error = [None]


def on_error(err):
    # Connection-level errors; librdkafka retries on its own, so these are only reported.
    if first_error[0] is None:
        first_error[0] = str(err)


def on_delivery(err, msg):
    # With delivery.report.only.error this only runs for failed records.
    if err is not None:
        failed[0] += 1
        if first_error[0] is None:
            first_error[0] = str(err)


conf = {
    'bootstrap.servers': req['bootstrap'],
    'acks': 'all',
    'enable.idempotence': False,
    'compression.type': 'none',
    # Large batches and a generous linger: the client should never be what limits throughput.
    'linger.ms': 20,
    # 1 MB per partition batch: Kafka's (and Weir's) default cap on one record batch.
    'batch.size': 1000000,
    'batch.num.messages': 1000000,
    'message.max.bytes': 16 * 1024 * 1024,
    'queue.buffering.max.kbytes': 1024 * 1024,
    'queue.buffering.max.messages': 2000000,
    'delivery.report.only.error': True,
    'on_delivery': on_delivery,
    'error_cb': on_error,
    'socket.send.buffer.bytes': 4 * 1024 * 1024,
}
conf.update(req.get('config', {}))
p = Producer(conf)

topic = req['topic']
count = int(req['count'])
# Random bytes so nothing on the way can shortcut repeated content; one object reused because
# building a new value per record would measure Python, not the producer.
value = os.urandom(int(req['recordBytes']))

# Connect and fetch metadata before the clock starts, so the figure is steady-state throughput.
p.list_topics(topic, timeout=30)

produce = p.produce
poll = p.poll
sent = 0
wall0 = time.time()
t0 = time.perf_counter()
while sent < count:
    try:
        produce(topic, value)
        sent += 1
    except BufferError:
        # The local queue is full: wait for acks to drain it.
        poll(0.005)
        continue
    if sent & 0x3FFF == 0:
        poll(0)
t_enq = time.perf_counter()
left = p.flush(req.get('flushTimeoutS', 120))
t1 = time.perf_counter()
wall1 = time.time()
json.dump({'sent': sent, 'failed': failed[0] + left, 'bytes': sent * len(value),
           'seconds': t1 - t0, 'start': wall0, 'end': wall1, 'enqueueSeconds': t_enq - t0, 'firstError': first_error[0]}, sys.stdout)
