/**
 * The map/filter pipeline of bench/pipeline-topic.ts, in its own module because worker threads
 * load pipelines from a file (`weir run --threads N`). Two copies with their own names (so their
 * own consumer groups and checkpoints) and output topics: one for the single-thread run, one for
 * the threaded run, in the same benchmark process.
 */
import { filter } from 'rxjs';
import { fromTopic, mapValue, pipeline, serdes, toTopic } from '../../pipelines/index.js';

export interface Event {
  id: number;
  user: string;
  amount: number;
  ts: number;
  tags: string[];
}

export interface Out {
  user: string;
  cents: number;
  day: number;
}

export const keep = (e: Event): boolean => e.amount % 2 === 0;
export const transform = (e: Event): Out => ({ user: e.user, cents: e.amount * 100, day: Math.floor(e.ts / 86_400_000) });

function mapFilter(name: string, output: string) {
  return pipeline(name)
    .from(fromTopic('bench-in', { key: serdes.string(), value: serdes.json<Event>() }))
    .pipe(
      filter((r) => keep(r.value)),
      mapValue((e: Event) => transform(e)),
    )
    .to(toTopic(output, { key: serdes.string(), value: serdes.json<Out>() }));
}

export const singleThread = mapFilter('bench-pipeline-1', 'bench-out-pipeline-1');
export const threaded = mapFilter('bench-pipeline', 'bench-out-pipeline');
