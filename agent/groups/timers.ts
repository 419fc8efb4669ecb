/**
 * The timers the group coordinator runs on (session, rebalance, initial-delay and pending-sync
 * deadlines), behind an interface so tests can drive them with a manual clock instead of waiting.
 */
export type TimerHandle = unknown;

export interface Timers {
  /** Calls fn once after ms milliseconds, unless cleared first. */
  set(fn: () => void, ms: number): TimerHandle;
  clear(handle: TimerHandle): void;
}

/**
 * Node's timers, unreferenced: a group deadline must never be what keeps an agent process alive
 * (the listening socket does that while the agent runs).
 */
export const systemTimers: Timers = {
  set(fn, ms) {
    const t = setTimeout(fn, ms);
    t.unref();
    return t;
  },
  clear(handle) {
    clearTimeout(handle as NodeJS.Timeout);
  },
};
