/**
 * The ambient task context. A stage's transform is a plain RxJS OperatorFunction, so Weir's
 * operators cannot take the context as a parameter; instead the task sets it while it subscribes
 * the chain, and each operator grabs it in its subscribe function (`currentContext()`). RxJS
 * subscribes synchronously, so every operator of the chain sees its own task's context.
 */
import { WeirError } from '../../core/errors.js';
import type { TaskContext } from '../core/contracts.js';

let current: TaskContext | undefined;

export function currentContext(): TaskContext {
  if (current === undefined) {
    throw new WeirError(
      'invalid_argument',
      "Weir operators (windows, joins, dedupe, state) must run inside a pipeline task: subscribe them through pipeline(...).pipe(...), the test driver or the runtime, not directly",
    );
  }
  return current;
}

/** The context, or undefined outside a task (operators that also work without one). */
export function maybeCurrentContext(): TaskContext | undefined {
  return current;
}

/** Runs fn with ctx as the current context (re-entrant: restores the previous one). */
export function withContext<T>(ctx: TaskContext, fn: () => T): T {
  const previous = current;
  current = ctx;
  try {
    return fn();
  } finally {
    current = previous;
  }
}
