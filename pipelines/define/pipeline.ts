/**
 * The definition API:
 *
 *   export default pipeline('word-count')
 *     .from(fromTopic('lines'))
 *     .pipe(flatMapValue((line) => line.split(/\W+/)))
 *     .keyBy((r) => r.value, { key: serdes.string(), value: serdes.string() })
 *     .pipe(window(tumbling({ sizeMs: 60_000 }), count()))
 *     .to(toTopic('word-counts', { value: serdes.json() }));
 *
 * `.keyBy()` ends a stage: its records go, keyed by the new key, to the internal topic
 * `<pipeline>-repartition-<n>` (n = the index of the stage that reads it, from 1), which the next
 * stage reads; so every record with one key reaches one task, with that key's state.
 */
import { map, type OperatorFunction } from 'rxjs';
import { WeirError } from '../../core/errors.js';
import type { PipelineSpec, Rec, Serde, SinkSpec, SourceSpec, StageSpec, TableSpec } from '../core/contracts.js';
import { checkTopicName } from './source.js';

const PIPELINE_NAME = /^[a-zA-Z0-9._-]{1,200}$/;
const PIPELINE_MARK = Symbol.for('weir.pipeline');

/** Operators that read tables carry their TableSpecs under this property (see joinTable). */
export const TABLES_PROPERTY = '__weirTables';

type AnyOp = OperatorFunction<any, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

function tablesOf(op: AnyOp): readonly TableSpec[] {
  return ((op as unknown as Record<string, unknown>)[TABLES_PROPERTY] as TableSpec[] | undefined) ?? [];
}

interface StageDraft {
  source: SourceSpec;
  ops: AnyOp[];
  sideSinks: Record<string, SinkSpec>;
  tables: TableSpec[];
}

function compose(ops: readonly AnyOp[]): OperatorFunction<Rec, Rec> {
  const chain = [...ops];
  return (source) => {
    let o = source;
    for (const op of chain) o = op(o);
    return o;
  };
}

function stageSpec(index: number, d: StageDraft, sinks: readonly SinkSpec[]): StageSpec {
  return { index, source: d.source, transform: compose(d.ops), sinks, sideSinks: { ...d.sideSinks }, tables: [...d.tables] };
}

export interface KeyByOptions<K, V> {
  key: Serde<K>;
  value: Serde<V>;
  /** Partitions of the repartition topic; default: as many as the stage's source topic. */
  partitions?: number;
}

/** A compiled pipeline: what a pipeline file exports and what `weir run` and the test driver run. */
export class Pipeline implements PipelineSpec {
  readonly [PIPELINE_MARK] = true;
  constructor(
    readonly name: string,
    readonly stages: readonly StageSpec[],
  ) {}
}

export function isPipeline(x: unknown): x is Pipeline {
  return typeof x === 'object' && x !== null && (x as Record<symbol, unknown>)[PIPELINE_MARK] === true;
}

export class StageBuilder<R extends Rec> {
  /** @internal */
  constructor(
    private readonly name: string,
    private readonly done: readonly StageSpec[],
    private readonly draft: StageDraft,
  ) {}

  private with(ops: AnyOp[]): StageDraft {
    const tables = [...this.draft.tables];
    for (const op of ops) {
      if (typeof op !== 'function') throw new WeirError('invalid_argument', `pipeline ${this.name}: .pipe() takes RxJS operators (functions), got ${typeof op}`);
      for (const t of tablesOf(op)) {
        const existing = tables.find((x) => x.name === t.name);
        if (existing !== undefined && existing.topic !== t.topic) {
          throw new WeirError('invalid_argument', `pipeline ${this.name}: two tables named ${JSON.stringify(t.name)} read different topics (${existing.topic}, ${t.topic})`);
        }
        if (existing === undefined) tables.push(t);
      }
    }
    return { ...this.draft, ops: [...this.draft.ops, ...ops], tables };
  }

  /** RxJS and Weir operators, applied in order within the current stage. */
  pipe(): StageBuilder<R>;
  pipe<A extends Rec>(op1: OperatorFunction<R, A>): StageBuilder<A>;
  pipe<A, B extends Rec>(op1: OperatorFunction<R, A>, op2: OperatorFunction<A, B>): StageBuilder<B>;
  pipe<A, B, C extends Rec>(op1: OperatorFunction<R, A>, op2: OperatorFunction<A, B>, op3: OperatorFunction<B, C>): StageBuilder<C>;
  pipe<A, B, C, D extends Rec>(op1: OperatorFunction<R, A>, op2: OperatorFunction<A, B>, op3: OperatorFunction<B, C>, op4: OperatorFunction<C, D>): StageBuilder<D>;
  pipe<A, B, C, D, E extends Rec>(
    op1: OperatorFunction<R, A>,
    op2: OperatorFunction<A, B>,
    op3: OperatorFunction<B, C>,
    op4: OperatorFunction<C, D>,
    op5: OperatorFunction<D, E>,
  ): StageBuilder<E>;
  pipe<A, B, C, D, E, F extends Rec>(
    op1: OperatorFunction<R, A>,
    op2: OperatorFunction<A, B>,
    op3: OperatorFunction<B, C>,
    op4: OperatorFunction<C, D>,
    op5: OperatorFunction<D, E>,
    op6: OperatorFunction<E, F>,
  ): StageBuilder<F>;
  pipe(...ops: AnyOp[]): StageBuilder<Rec>;
  pipe(...ops: AnyOp[]): StageBuilder<Rec> {
    return new StageBuilder<Rec>(this.name, this.done, this.with(ops));
  }

  /**
   * Binds the current stage's side output `name` (e.g. 'late' from windows, a branch name) to a
   * sink. Side outputs with no binding are dropped (the test driver keeps them readable).
   */
  side(name: string, sink: SinkSpec): StageBuilder<R> {
    if (this.draft.sideSinks[name] !== undefined) throw new WeirError('invalid_argument', `pipeline ${this.name}: side output ${JSON.stringify(name)} is bound twice`);
    return new StageBuilder<R>(this.name, this.done, { ...this.draft, sideSinks: { ...this.draft.sideSinks, [name]: sink } });
  }

  /** Re-keys and repartitions: ends this stage; the next reads `<pipeline>-repartition-<n>`. */
  keyBy<K>(keyOf: (rec: R) => K, options: KeyByOptions<K, R['value']>): StageBuilder<Rec<K, R['value']>> {
    if (typeof keyOf !== 'function') throw new WeirError('invalid_argument', `pipeline ${this.name}: keyBy needs a key function`);
    if (options?.key === undefined || options.value === undefined) {
      throw new WeirError('invalid_argument', `pipeline ${this.name}: keyBy needs { key, value } serdes for its repartition topic`);
    }
    const p = options.partitions;
    if (p !== undefined && !(Number.isInteger(p) && p >= 1)) throw new WeirError('invalid_argument', `pipeline ${this.name}: keyBy partitions must be an integer >= 1, got ${p}`);
    const nextIndex = this.done.length + 1;
    const topic = `${this.name}-repartition-${nextIndex}`;
    checkTopicName(topic, 'repartition topic');
    // rxjs map routes an exception from keyOf to the error channel, failing the task.
    const rekey: AnyOp = map((r: R): Rec => ({ key: keyOf(r), value: r.value, timestamp: r.timestamp, headers: r.headers, topic: r.topic, partition: r.partition, offset: r.offset }));
    const sink: SinkSpec = {
      kind: 'topic',
      topic,
      key: options.key as Serde<unknown>,
      value: options.value as Serde<unknown>,
      name: topic,
      internal: true,
      ...(p !== undefined ? { partitions: p } : {}),
    };
    const current = this.with([rekey]);
    const stage = stageSpec(this.done.length, current, [sink]);
    const first = this.done[0]?.source ?? this.draft.source;
    // The next stage's source inherits the pipeline's watermark settings and consumer group: a
    // repartition topic is written by several upstream tasks, so its records are as out of
    // order as the original input, plus whatever windows upstream emit at their end.
    const next: SourceSpec = {
      kind: 'topic',
      topics: [topic],
      key: options.key as Serde<unknown>,
      value: options.value as Serde<unknown>,
      startFrom: 'earliest',
      ...(first.group !== undefined ? { group: first.group } : {}),
      ...(first.outOfOrdernessMs !== undefined ? { outOfOrdernessMs: first.outOfOrdernessMs } : {}),
      ...(first.idleTimeoutMs !== undefined ? { idleTimeoutMs: first.idleTimeoutMs } : {}),
    };
    return new StageBuilder<Rec<K, R['value']>>(this.name, [...this.done, stage], { source: next, ops: [], sideSinks: {}, tables: [] });
  }

  /** The final stage's sinks: every output record goes to each of them. */
  to(...sinks: SinkSpec[]): Pipeline {
    if (sinks.length === 0) throw new WeirError('invalid_argument', `pipeline ${this.name}: .to() needs at least one sink`);
    const names = new Set<string>();
    for (const s of sinks) {
      if (names.has(s.name)) throw new WeirError('invalid_argument', `pipeline ${this.name}: two sinks named ${JSON.stringify(s.name)}`);
      names.add(s.name);
    }
    return new Pipeline(this.name, [...this.done, stageSpec(this.done.length, this.draft, sinks)]);
  }
}

export class PipelineStart {
  constructor(readonly name: string) {}

  /** The first stage's source; `fromTopic(...)` or `fromTopics({...})`. */
  from<K, V>(source: SourceSpec<K, V> & { readonly __rec?: undefined }): StageBuilder<Rec<K, V>>;
  from<R extends Rec>(source: SourceSpec & { readonly __rec?: R }): StageBuilder<R>;
  from(source: SourceSpec): StageBuilder<Rec> {
    if (source?.kind !== 'topic') throw new WeirError('invalid_argument', `pipeline ${this.name}: .from() takes fromTopic(...) or fromTopics(...)`);
    return new StageBuilder<Rec>(this.name, [], { source, ops: [], sideSinks: {}, tables: [] });
  }
}

/** Starts a pipeline. The name is its identity: default consumer group, repartition topics, checkpoints. */
export function pipeline(name: string): PipelineStart {
  if (typeof name !== 'string' || !PIPELINE_NAME.test(name)) {
    throw new WeirError('invalid_argument', `pipeline name ${JSON.stringify(name)} must be 1-200 of [a-zA-Z0-9._-] (it names topics and consumer groups)`);
  }
  return new PipelineStart(name);
}
