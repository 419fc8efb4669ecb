import { Observable, type OperatorFunction } from 'rxjs';
import type { Rec } from '../core/contracts.js';
import { currentContext } from '../task/current-context.js';

/**
 * Routes records to named side outputs by predicate, the first match winning (Kafka Streams'
 * split().branch()). Bind each name to a sink with `.side(name, sink)`. Records no predicate
 * matches continue on the main output, or are dropped with `{ unmatched: 'drop' }`.
 *
 *   .pipe(branch({ large: (r) => r.value.amount >= 1000, refunds: (r) => r.value.amount < 0 }))
 *   .side('large', toTopic('large-orders')).side('refunds', toTopic('refunds'))
 */
export function branch<R extends Rec>(predicates: Readonly<Record<string, (rec: R) => boolean>>, options: { unmatched?: 'main' | 'drop' } = {}): OperatorFunction<R, R> {
  const names = Object.keys(predicates);
  const keepUnmatched = (options.unmatched ?? 'main') === 'main';
  return (source) =>
    new Observable<R>((subscriber) => {
      const ctx = currentContext();
      const outs = names.map((n) => ({ test: predicates[n]!, write: ctx.sideOutput(n) }));
      return source.subscribe({
        next: (r) => {
          try {
            for (const o of outs) {
              if (o.test(r)) {
                o.write(r);
                return;
              }
            }
          } catch (e) {
            subscriber.error(e);
            return;
          }
          if (keepUnmatched) subscriber.next(r);
        },
        error: (e: unknown) => subscriber.error(e),
        complete: () => subscriber.complete(),
      });
    });
}
