/** Weir's Kafka client on its own generated codec: see kafka-client.ts. */
export { KafkaClient, parseHostPort, type KafkaClientOptions, type TopicPartition, type OffsetSpec, type NewTopic, type CommittedOffset, type TopicInfo } from './kafka-client.js';
export { Producer, type ProducerOptions, type ProducedRecord } from './producer.js';
export { Fetcher, type FetcherOptions, type FetchPosition, type FetchedPartition, type FetchedColumns } from './fetcher.js';
export { RecordColumns } from './record-columns.js';
export { GroupMember, rangeAssign, type GroupMemberOptions } from './group-member.js';
export { KafkaError, KafkaCode, kafkaErrorName, isRetriable } from './kafka-error.js';
export { murmur2, partitionForKey } from './murmur2.js';
