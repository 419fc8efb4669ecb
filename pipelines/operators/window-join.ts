/**
 * Window join (Flink's window join, Nexmark q8): left and right records with the same key that
 * fall into the same window are joined when the window closes; every pair is emitted, stamped
 * end - 1. The two sides are told apart by topic name or predicate, as in intervalJoin. Built on
 * the window operator, so lateness, the 'late' side output and checkpointing are the same.
 *
 *   .pipe(windowJoin({ left: 'persons', window: tumbling({ sizeMs: 10_000 }), select: (p, a) => ({ id: p.key, name: p.value.name }) }))
 */
import { Observable, type OperatorFunction } from 'rxjs';
import { WeirError } from '../../core/errors.js';
import type { Rec, WindowResult } from '../core/contracts.js';
import { isLeftOf, type SideSelector } from './internal/side.js';
import type { WindowOptions } from './internal/window-core.js';
import { window } from './window.js';
import type { WindowSpec } from './window-spec.js';

export interface WindowJoinOptions<R extends Rec, O> extends Omit<WindowOptions, 'emit'> {
  left: SideSelector<R>;
  window: WindowSpec;
  select: (left: R, right: R, window: { start: number; end: number }) => O;
}

/** Both sides' records of one key and window; records are kept as plain data for checkpoints. */
interface Sides<R> {
  l: R[];
  r: R[];
}

export function windowJoin<R extends Rec, O>(options: WindowJoinOptions<R, O>): OperatorFunction<R, Rec<R['key'], O>> {
  if (options.window.kind !== 'aligned') throw new WeirError('invalid_argument', 'windowJoin: use tumbling or hopping windows (for record-relative windows use intervalJoin)');
  const isLeft = isLeftOf(options.left);
  const collect = window<R, Sides<R>, Sides<R>>(
    options.window,
    {
      name: 'window-join',
      init: () => ({ l: [], r: [] }),
      add: (acc, rec) => {
        (isLeft(rec) ? acc.l : acc.r).push({ ...rec });
        return acc;
      },
      merge: (a, b) => ({ l: a.l.concat(b.l), r: a.r.concat(b.r) }),
      result: (acc) => acc,
    },
    options,
  );
  return (source) =>
    new Observable<Rec<R['key'], O>>((subscriber) =>
      collect(source).subscribe({
        next: (w: Rec<R['key'], WindowResult<Sides<R>>>) => {
          const { start, end, value } = w.value;
          try {
            for (const l of value.l) for (const r of value.r) subscriber.next({ ...w, value: options.select(l, r, { start, end }) });
          } catch (e) {
            subscriber.error(e);
          }
        },
        error: (e: unknown) => subscriber.error(e),
        complete: () => subscriber.complete(),
      }),
    );
}
