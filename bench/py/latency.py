"""
Latency probe for the Weir benchmarks: a confluent-kafka-python producer sends records at a
steady rate (acks=all, linger.ms=0, so the client adds no batching delay of its own) while a
consumer in another thread of the same process reads them. Each value starts with the send
time (time.perf_counter(), one monotonic clock for both sides) and a sequence number, so:
  ack latency = delivery report time - send time       (produce request to acknowledgement)
  e2e latency = time the consumer got it - send time   (produce to consume)

The consumer assign()s every partition from offset 0 (the topic is fresh) with a group.id only
because librdkafka's KafkaConsumer requires one; nothing is committed.

Input (JSON on stdin): bootstrap, topic, partitions, rate (records/s), seconds, warmupS,
  recordBytes, consume (bool), producerConfig, consumerConfig.
Output (JSON): ackMs, e2eMs (lists, warm-up excluded), sent, acked, consumed, failed, lateSends.
"""
import json
import struct
import sys
import threading
import time

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, Producer, TopicPartition

req = json.load(sys.stdin)
rate = float(req['rate'])
seconds = float(req['seconds'])
warmup = float(req.get('warmupS', 2))
topic = req['topic']
partitions = int(req['partitions'])
record_bytes = int(req.get('recordBytes', 1024))
HEADER = struct.Struct('>dq')
padding = b'x' * max(0, record_bytes - HEADER.size)
total = int(rate * (warmup + seconds))
warm_count = int(rate * warmup)
clock = time.perf_counter

ack_ms = []
e2e_ms = []
failed = [0]
acked = [0]
consumed = [0]
errors = []


def on_delivery(err, msg):
    now = clock()
    if err is not None:
        failed[0] += 1
        if len(errors) < 10:
            errors.append(str(err))
        return
    acked[0] += 1
    sent, seq = HEADER.unpack_from(msg.value())
    if seq >= warm_count:
        ack_ms.append(round((now - sent) * 1000, 3))


# socket.nagle.disable: librdkafka leaves Nagle on by default; with a broker that answers
# 10-250 ms later, each small request then waits for the previous segment's delayed ACK (up to
# 40 ms on Linux). The Java client always sets TCP_NODELAY; latency-minded librdkafka users do too.
pconf = {'bootstrap.servers': req['bootstrap'], 'acks': 'all', 'linger.ms': 0,
         'enable.idempotence': False, 'compression.type': 'none', 'socket.nagle.disable': True}
pconf.update(req.get('producerConfig', {}))
p = Producer(pconf)
p.list_topics(topic, timeout=30)  # creates the topic (auto-create) and connects

stop = threading.Event()
consumer_ready = threading.Event()


def consume_loop():
    cconf = {'bootstrap.servers': req['bootstrap'], 'group.id': 'weir-bench-unused',
             'enable.auto.commit': False, 'enable.auto.offset.store': False,
             'fetch.wait.max.ms': 500, 'fetch.min.bytes': 1, 'socket.nagle.disable': True}
    cconf.update(req.get('consumerConfig', {}))
    c = Consumer(cconf)
    c.list_topics(topic, timeout=30)
    c.assign([TopicPartition(topic, i, OFFSET_BEGINNING) for i in range(partitions)])
    consumer_ready.set()
    while not stop.is_set():
        # poll(), not consume(num_messages=N): consume() holds messages back until it has N or
        # its timeout passes, which would add up to the timeout to every end-to-end figure.
        m = c.poll(0.05)
        if m is None:
            continue
        now = clock()
        if m.error() is not None:
            if m.error().code() != KafkaError._PARTITION_EOF and len(errors) < 10:
                errors.append(str(m.error()))
            continue
        consumed[0] += 1
        sent, seq = HEADER.unpack_from(m.value())
        if seq >= warm_count:
            e2e_ms.append(round((now - sent) * 1000, 3))
    c.close()


consumer = None
if req.get('consume', True):
    consumer = threading.Thread(target=consume_loop, daemon=True)
    consumer.start()
    consumer_ready.wait(30)

late = 0
t0 = clock()
for seq in range(total):
    due = t0 + seq / rate
    while True:
        now = clock()
        if now >= due:
            break
        p.poll(due - now)  # serves delivery reports while waiting for the next send time
    if now - due > 0.005:
        late += 1  # the sender fell behind schedule by more than 5 ms
    p.produce(topic, HEADER.pack(clock(), seq) + padding, on_delivery=on_delivery)
p.flush(60)
if consumer is not None:
    deadline = clock() + 30
    while consumed[0] < acked[0] and clock() < deadline:
        time.sleep(0.05)
    stop.set()
    consumer.join(10)

json.dump({'ackMs': ack_ms, 'e2eMs': e2e_ms, 'sent': total, 'acked': acked[0],
           'consumed': consumed[0], 'failed': failed[0], 'lateSends': late,
           'errors': errors}, sys.stdout)
