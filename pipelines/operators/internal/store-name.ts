import type { TaskContext } from '../../core/contracts.js';

const counters = new WeakMap<TaskContext, Map<string, number>>();

/**
 * A state store name for an operator instance: the explicit name if given, else `<kind>-<n>` with
 * n counting that kind's operators in subscription order. Subscription order is fixed by the
 * pipeline's code, so the same pipeline gets the same names after a restart and finds its state;
 * change the pipeline's shape and give stateful operators explicit names to keep their state.
 */
export function storeName(ctx: TaskContext, kind: string, explicit: string | undefined): string {
  if (explicit !== undefined) return explicit;
  let m = counters.get(ctx);
  if (m === undefined) counters.set(ctx, (m = new Map()));
  const n = m.get(kind) ?? 0;
  m.set(kind, n + 1);
  return `${kind}-${n}`;
}
