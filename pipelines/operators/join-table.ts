/**
 * Stream-table join (Kafka Streams' KStream-GlobalKTable join): each record looks up the table's
 * latest value for a key (default: the record's key) and is joined with it. The table is read
 * from a topic by the runtime (every partition, latest value per key, null deletes); declaring
 * it here adds it to the stage, so `weir run` and the test driver know to load it.
 *
 *   const users = table('users', { key: serdes.string(), value: serdes.json<User>() });
 *   .pipe(joinTable(users, (click, user) => ({ ...click.value, country: user.country })))
 *
 * `type: 'left'` keeps records with no table entry (user is undefined); 'inner' (default) drops them.
 * The join is not time-synchronized: a record sees the table as loaded when it is processed.
 */
import { Observable, type OperatorFunction } from 'rxjs';
import type { Rec, Serde, TableSpec } from '../core/contracts.js';
import { TABLES_PROPERTY } from '../define/pipeline.js';
import { checkTopicName } from '../define/source.js';
import { currentContext } from '../task/current-context.js';

/** Declares a table read from `topic` (its name defaults to the topic). */
export function table<K, V>(topic: string, options: { key: Serde<K>; value: Serde<V>; name?: string }): TableSpec<K, V> {
  checkTopicName(topic);
  return { name: options.name ?? topic, topic, key: options.key, value: options.value };
}

export interface JoinTableOptions<R> {
  type?: 'inner' | 'left';
  /** The table key to look up; default the record's key. */
  key?: (rec: R) => unknown;
}

export function joinTable<R extends Rec, TV, O>(
  spec: TableSpec<unknown, TV>,
  select: (rec: R, row: TV) => O,
  options?: JoinTableOptions<R> & { type?: 'inner' },
): OperatorFunction<R, Rec<R['key'], O>>;
export function joinTable<R extends Rec, TV, O>(
  spec: TableSpec<unknown, TV>,
  select: (rec: R, row: TV | undefined) => O,
  options: JoinTableOptions<R> & { type: 'left' },
): OperatorFunction<R, Rec<R['key'], O>>;
export function joinTable<R extends Rec, TV, O>(
  spec: TableSpec<unknown, TV>,
  select: (rec: R, row: TV) => O,
  options: JoinTableOptions<R> = {},
): OperatorFunction<R, Rec<R['key'], O>> {
  const keyOf = options.key ?? ((r: R) => r.key);
  const inner = (options.type ?? 'inner') === 'inner';
  const op: OperatorFunction<R, Rec<R['key'], O>> = (source) =>
    new Observable<Rec<R['key'], O>>((subscriber) => {
      const view = currentContext().table<TV>(spec.name);
      return source.subscribe({
        next: (rec) => {
          try {
            const row = view.get(keyOf(rec));
            if (row === undefined && inner) return;
            subscriber.next({ key: rec.key, value: select(rec, row as TV), timestamp: rec.timestamp, headers: rec.headers, topic: rec.topic, partition: rec.partition, offset: rec.offset });
          } catch (e) {
            subscriber.error(e);
          }
        },
        error: (e: unknown) => subscriber.error(e),
        complete: () => subscriber.complete(),
      });
    });
  return Object.assign(op, { [TABLES_PROPERTY]: [spec as TableSpec] });
}
