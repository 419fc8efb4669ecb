/** What a window assigner (tumbling, hopping, session, sliding) describes; the window operator interprets it. */
export type WindowSpec =
  /** Tumbling (advance = size) and hopping windows on a grid from the epoch (+ offset). */
  | { readonly kind: 'aligned'; readonly sizeMs: number; readonly advanceMs: number; readonly offsetMs: number }
  /** Per key, records less than gapMs apart (in event time) form one session. */
  | { readonly kind: 'session'; readonly gapMs: number }
  /** Windows of sizeMs ending at each record, and starting just after each record (Kafka Streams' sliding windows). */
  | { readonly kind: 'sliding'; readonly sizeMs: number };
