/**
 * V8 settings for a process that runs pipelines (`weir run`, benchmarks).
 *
 * Allocation-site pretenuring is turned off. V8 allocates objects directly in the old generation
 * when most objects from one allocation site are still alive at a scavenge. A pipeline decodes
 * and pushes records in slices, so at any scavenge the current slice's Recs and parsed values
 * are all alive: V8 judges those sites long-lived and pretenures them, although every record dies
 * within microseconds. Each one then costs a major GC instead of nothing (~350 B per record in
 * the old generation; about a fifth of the CPU in bench/pipeline-topic). Without pretenuring
 * they die young. Measured in docs/benchmarks.md (pipeline-topic); the setting is process-wide,
 * and the benchmark applies it to its kafkajs side as well (no measurable effect there).
 */
import { setFlagsFromString } from 'node:v8';

let applied = false;

export function applyPipelineV8Tuning(): void {
  if (applied || process.env.WEIR_V8_PRETENURING === '1') return;
  applied = true;
  setFlagsFromString('--no-allocation-site-pretenuring');
}
