"""
Catch-up consumer for the Weir benchmarks: confluent-kafka-python (librdkafka) reads every
partition of a topic from offset 0 as fast as it can, in batches (consume(num_messages=...)),
until it has `count` records or every partition reports end-of-partition.

The group.id is only there because librdkafka's KafkaConsumer requires one: partitions are
assign()ed explicitly and nothing is ever committed, so no group coordination happens.

Input (JSON on stdin): bootstrap, topic, partitions (a count: 0..n-1, or a list of partition
  numbers, so several processes can split a topic), count (0 = until EOF everywhere),
  timeoutS, config (optional librdkafka overrides).
Output (JSON on stdout): records, bytes (values), seconds (assign() to the last record),
  firstRecordSeconds, errors.
"""
import json
import sys
import time

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, TopicPartition

req = json.load(sys.stdin)
conf = {
    'bootstrap.servers': req['bootstrap'],
    'group.id': 'weir-bench-unused',
    'enable.auto.commit': False,
    'enable.auto.offset.store': False,
    'enable.partition.eof': True,
    # librdkafka's fetch sizes are kept: measured against bench/lib/fake-broker.ts, bigger
    # fetches (64 MiB / 8 MiB per partition) were slower, their fresh buffers costing page faults.
    'fetch.wait.max.ms': 100,
}
conf.update(req.get('config', {}))
c = Consumer(conf)
topic = req['topic']
parts = req['partitions']
parts = list(range(int(parts))) if isinstance(parts, int) else [int(x) for x in parts]
partitions = len(parts)
want = int(req.get('count', 0))
deadline = time.time() + float(req.get('timeoutS', 300))

c.list_topics(topic, timeout=30)  # connect before the clock starts

records = 0
nbytes = 0
errors = []
eof = set()
t_first = None
t_last = None
wall0 = time.time()
t0 = time.perf_counter()
c.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in parts])
consume = c.consume
while time.time() < deadline:
    msgs = consume(num_messages=10000, timeout=0.5)
    for m in msgs:
        err = m.error()
        if err is None:
            records += 1
            nbytes += len(m.value())
            continue
        if err.code() == KafkaError._PARTITION_EOF:
            eof.add(m.partition())
        else:
            errors.append(str(err))
    if msgs and records:
        t_last = time.perf_counter()
        if t_first is None:
            t_first = t_last
    if want and records >= want:
        break
    if not want and len(eof) == partitions:
        break
    if len(errors) > 100:
        break
c.close()
json.dump({'records': records, 'bytes': nbytes, 'start': wall0, 'end': wall0 + ((t_last or time.perf_counter()) - t0),
           'seconds': (t_last or time.perf_counter()) - t0,
           'firstRecordSeconds': (t_first - t0) if t_first else None,
           'errors': errors[:10], 'errorCount': len(errors)}, sys.stdout)
