"""
High watermarks of every partition of a topic (ListOffsets via librdkafka), to check that a
benchmark's records all landed. Input: {bootstrap, topic}. Output: {partitions, high: {p: offset}, total}.
"""
import json
import sys

from confluent_kafka import Consumer, TopicPartition

req = json.load(sys.stdin)
c = Consumer({'bootstrap.servers': req['bootstrap'], 'group.id': 'weir-bench-unused',
              'enable.auto.commit': False})
topic = req['topic']
md = c.list_topics(topic, timeout=30)
parts = sorted(md.topics[topic].partitions.keys())
high = {}
for p in parts:
    _, hi = c.get_watermark_offsets(TopicPartition(topic, p), timeout=30, cached=False)
    high[str(p)] = hi
c.close()
json.dump({'partitions': len(parts), 'high': high, 'total': sum(high.values())}, sys.stdout)
