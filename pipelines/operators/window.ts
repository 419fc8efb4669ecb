/**
 * The window operator: groups records by `rec.key` into event-time windows and aggregates each.
 *
 *   .pipe(window(tumbling({ sizeMs: 60_000 }), count()))
 *   .pipe(window(session({ gapMs: 1_800_000 }), aggregate({...}), { allowedLatenessMs: 60_000, emit: 'update' }))
 *
 * Output: one record per window result, keyed by the group key, valued { start, end, value },
 * stamped end - 1 (so a downstream window puts it in the window that contains its window).
 * Semantics of firing, lateness and updates: internal/window-core.ts. State lives in the task's
 * keyed state store (checkpointed); timers are rebuilt from it on restore.
 */
import { Observable, type OperatorFunction } from 'rxjs';
import { WeirError } from '../../core/errors.js';
import type { Rec, WindowResult } from '../core/contracts.js';
import { currentContext } from '../task/current-context.js';
import type { StateStore } from '../task/state-store.js';
import type { Aggregator } from './aggregator.js';
import { AlignedWindows, type Win } from './internal/aligned-windows.js';
import { SessionWindows } from './internal/session-windows.js';
import { SlidingWindows, type SlidingState } from './internal/sliding-windows.js';
import { storeName } from './internal/store-name.js';
import { WindowCore, type WindowOptions } from './internal/window-core.js';
import type { WindowSpec } from './window-spec.js';

export type { WindowOptions } from './internal/window-core.js';

interface Engine<R> {
  add(rec: R): void;
  fire(timeMs: number, ck: string): void;
  rebuild(): void;
}

export function window<R extends Rec, A, O>(
  spec: WindowSpec,
  aggregator: Aggregator<R, A, O>,
  options: WindowOptions = {},
): OperatorFunction<R, Rec<R['key'], WindowResult<O>>> {
  const lateness = options.allowedLatenessMs ?? 0;
  if (!(Number.isSafeInteger(lateness) && lateness >= 0)) throw new WeirError('invalid_argument', `window: allowedLatenessMs must be an integer >= 0, got ${lateness}`);
  if (options.emit !== undefined && options.emit !== 'close' && options.emit !== 'update') {
    throw new WeirError('invalid_argument', `window: emit must be 'close' or 'update', got ${JSON.stringify(options.emit)}`);
  }
  if ((spec.kind === 'session' || spec.kind === 'sliding') && aggregator.merge === undefined) {
    throw new WeirError('invalid_argument', `window: ${spec.kind} windows need an aggregator with merge(); ${aggregator.name} has none`);
  }
  return (source) =>
    new Observable<Rec<R['key'], WindowResult<O>>>((subscriber) => {
      const ctx = currentContext();
      const name = storeName(ctx, 'window', options.name);
      const store = ctx.state<unknown>(name, { entriesMax: options.keysMax ?? 1_000_000 }) as StateStore<unknown>;
      const out = (rec: Rec<unknown, WindowResult<O>>): void => subscriber.next(rec as Rec<R['key'], WindowResult<O>>);
      let engine: Engine<R>;
      if (spec.kind === 'aligned') {
        const core = new WindowCore<R, A, O, Win<A>[]>(ctx, store as StateStore<Win<A>[]>, aggregator, options, out);
        engine = Object.assign(new AlignedWindows(core, spec.sizeMs, spec.advanceMs, spec.offsetMs), { core });
      } else if (spec.kind === 'session') {
        const core = new WindowCore<R, A, O, Win<A>[]>(ctx, store as StateStore<Win<A>[]>, aggregator, options, out);
        engine = Object.assign(new SessionWindows(core, spec.gapMs), { core });
      } else {
        const core = new WindowCore<R, A, O, SlidingState<A>>(ctx, store as StateStore<SlidingState<A>>, aggregator, options, out);
        engine = Object.assign(new SlidingWindows(core, spec.sizeMs), { core });
      }
      const core = (engine as unknown as { core: WindowCore<R, A, O, unknown> }).core;
      const fire = engine.fire.bind(engine);
      // State restored before this subscription (or later, by restore()) rebuilds the timers.
      const rebuild = (): void => {
        core.wm = ctx.watermark();
        engine.rebuild();
      };
      if (store.size > 0) rebuild();
      store.onRestore(rebuild);
      const sub = source.subscribe({
        next: (rec) => {
          try {
            engine.add(rec);
          } catch (e) {
            subscriber.error(e);
          }
        },
        error: (e: unknown) => subscriber.error(e),
        complete: () => subscriber.complete(),
      });
      // Registered after subscribing upstream, so upstream operators see each watermark first
      // and what they emit for it reaches this operator before it fires (see window-core.ts).
      const off = ctx.onWatermark((wm) => core.advance(wm, fire));
      return () => {
        off();
        sub.unsubscribe();
      };
    });
}
