/**
 * Runs kcat (librdkafka's command-line client) with a hard timeout, plus the two uses the tests
 * share: producing lines and consuming a topic as JSON records.
 */
import { runProcess, type RunResult } from './run-process.js';

export const KCAT = 'kcat';

export interface KcatOptions {
  stdin?: string;
  /** Default 60 s; the process group is SIGKILLed when it runs out. */
  timeoutMs?: number;
}

export async function runKcat(args: readonly string[], opts: KcatOptions = {}): Promise<RunResult> {
  const r = await runProcess(KCAT, { args, stdin: opts.stdin, timeoutMs: opts.timeoutMs ?? 60_000 });
  if (r.timedOut) {
    throw new Error(`kcat ${args.join(' ')} timed out\n--- stderr ---\n${r.stderr.slice(-4000)}`);
  }
  return r;
}

function failure(what: string, args: readonly string[], r: RunResult): Error {
  return new Error(`${what}: kcat ${args.join(' ')} exited with ${r.code ?? r.signal}\n--- stderr ---\n${r.stderr.slice(-4000)}`);
}

export interface KcatProduceOptions {
  bootstrap: string;
  topic: string;
  /** Records as [key, value]; neither may contain a tab or a newline (the delimiters). */
  records: ReadonlyArray<readonly [key: string, value: string]>;
  /** Omit to let librdkafka's partitioner pick from the key. */
  partition?: number;
  /** Headers kcat adds to every record (kcat cannot vary them per record). */
  headers?: ReadonlyArray<readonly [name: string, value: string]>;
  compression?: 'none' | 'gzip' | 'snappy' | 'lz4' | 'zstd';
  /** librdkafka properties, e.g. { 'linger.ms': '5' }. */
  config?: Record<string, string>;
  timeoutMs?: number;
}

export function kcatProduceArgs(o: KcatProduceOptions): string[] {
  const args = ['-P', '-b', o.bootstrap, '-t', o.topic, '-K', '\\t', '-X', 'acks=all'];
  if (o.partition !== undefined) args.push('-p', String(o.partition));
  for (const [name, value] of o.headers ?? []) args.push('-H', `${name}=${value}`);
  if (o.compression !== undefined && o.compression !== 'none') args.push('-z', o.compression);
  for (const [k, v] of Object.entries(o.config ?? {})) args.push('-X', `${k}=${v}`);
  return args;
}

/** Produces the records (acks=all) and resolves once kcat reports every one delivered. */
export async function kcatProduce(o: KcatProduceOptions): Promise<RunResult> {
  for (const [k, v] of o.records) {
    if (/[\t\n]/.test(k) || /[\t\n]/.test(v)) throw new Error(`kcat record may not contain tab/newline: ${k} ${v}`);
  }
  const args = kcatProduceArgs(o);
  const stdin = o.records.map(([k, v]) => `${k}\t${v}\n`).join('');
  const r = await runKcat(args, { stdin, timeoutMs: o.timeoutMs });
  // kcat exits 1 when any delivery failed, after printing "Delivery failed for message: ..." per record.
  if (r.code !== 0) throw failure('produce failed', args, r);
  return r;
}

/** One record as kcat -J prints it. */
export interface KcatRecord {
  topic: string;
  partition: number;
  offset: number;
  tstype?: string;
  ts?: number;
  broker: number;
  /** Alternating name, value (kcat 1.7); absent when the record has no headers. */
  headers?: Array<string | null> | Record<string, string | null | Array<string | null>>;
  key: string | null;
  payload: string | null;
}

export interface KcatConsumeOptions {
  bootstrap: string;
  topic: string;
  /** Default: every partition. */
  partition?: number;
  /** kcat -o syntax; default "beginning". */
  offset?: string;
  config?: Record<string, string>;
  timeoutMs?: number;
}

/** Reads the topic from `offset` to the end of every partition (kcat -e) and returns the records in arrival order. */
export async function kcatConsume(o: KcatConsumeOptions): Promise<KcatRecord[]> {
  const args = ['-C', '-b', o.bootstrap, '-t', o.topic, '-o', o.offset ?? 'beginning', '-e', '-J', '-q'];
  if (o.partition !== undefined) args.push('-p', String(o.partition));
  for (const [k, v] of Object.entries(o.config ?? {})) args.push('-X', `${k}=${v}`);
  const r = await runKcat(args, { timeoutMs: o.timeoutMs });
  if (r.code !== 0) throw failure('consume failed', args, r);
  return r.stdout
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as KcatRecord);
}

/** kcat's headers as [name, value] pairs, in record order. */
export function kcatHeaderPairs(r: KcatRecord): Array<[string, string | null]> {
  const h = r.headers;
  const pairs: Array<[string, string | null]> = [];
  if (h === undefined) return pairs;
  if (Array.isArray(h)) {
    for (let i = 0; i + 1 < h.length; i += 2) pairs.push([h[i] as string, h[i + 1] ?? null]);
    return pairs;
  }
  // Some kcat builds print a map of name → values instead; record order across names is then lost.
  for (const [name, v] of Object.entries(h)) {
    for (const value of Array.isArray(v) ? v : [v]) pairs.push([name, value]);
  }
  return pairs;
}
