/**
 * Word count: lines in, per-word counts per one-minute event-time window out.
 *
 *   npx weir run examples/word-count.ts --brokers 127.0.0.1:9092
 *   printf 'the quick brown fox\nthe lazy dog\n' | kcat -b 127.0.0.1:9092 -P -t lines
 *   kcat -b 127.0.0.1:9092 -C -t word-counts -f '%k %s\n'
 *
 * Stage 1 splits lines into words; keyBy sends each word to the repartition topic
 * `word-count-repartition-1`, keyed by the word, so stage 2 counts each word in one task, with
 * the counts in that task's checkpointed state. Results come out when a window closes: when the
 * watermark (newest event time seen minus 5 s of allowed disorder) passes the window's end.
 */
import { count, flatMapValue, fromTopic, pipeline, serdes, toTopic, tumbling, window } from '../pipelines/index.js';

export const WINDOW_MS = 60_000;

export default pipeline('word-count')
  .from(fromTopic('lines', { value: serdes.string(), outOfOrdernessMs: 5_000 }))
  .pipe(flatMapValue((line: string) => line.toLowerCase().split(/[^a-z0-9']+/).filter((w) => w.length > 0)))
  .keyBy((r) => r.value, { key: serdes.string(), value: serdes.string() })
  .pipe(window(tumbling({ sizeMs: WINDOW_MS }), count()))
  .to(toTopic('word-counts', { key: serdes.string(), value: serdes.json() }));
