/**
 * Reads a whole topic (every partition, beginning to end) with one of the three consumer
 * implementations, none of which uses a consumer group: kcat's simple consumer, kafka-python
 * with assign() + seek_to_beginning(), confluent-kafka-python with assign() at offset 0.
 */
import { kcatConsume } from './kcat.js';
import { confluentConsume, kafkaPythonConsume } from './py-clients.js';
import { fromKcat, type ReadRecord } from './records.js';

export const CONSUMERS = ['kcat', 'kafka-python', 'confluent-kafka-python'] as const;
export type Consumer = (typeof CONSUMERS)[number];

export async function readAll(consumer: Consumer, bootstrap: string, topic: string): Promise<ReadRecord[]> {
  switch (consumer) {
    case 'kcat':
      return fromKcat(await kcatConsume({ bootstrap, topic }));
    case 'kafka-python':
      return (await kafkaPythonConsume({ bootstrap, topic })).records;
    case 'confluent-kafka-python':
      return (await confluentConsume({ bootstrap, topic })).records;
  }
}
