import type { Rec } from '../../core/contracts.js';

/** Which side of a two-input join a record is: by source topic name, or by predicate. */
export type SideSelector<R extends Rec> = string | ((rec: R) => boolean);

export function isLeftOf<R extends Rec>(left: SideSelector<R>): (rec: R) => boolean {
  return typeof left === 'string' ? (r) => r.topic === left : left;
}
