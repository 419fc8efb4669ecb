/**
 * kafkajs wraps protocol errors (in aggregate errors, retry-exhausted errors, causes); this digs
 * out every Kafka error type name (e.g. "UNKNOWN_TOPIC_OR_PARTITION") found anywhere inside.
 */
export function kafkaErrorTypes(e: unknown): string[] {
  const types: string[] = [];
  const seen = new Set<unknown>();
  const visit = (x: unknown): void => {
    if (x === null || typeof x !== 'object' || seen.has(x)) return;
    seen.add(x);
    const o = x as { type?: unknown; errors?: unknown; cause?: unknown; originalError?: unknown; retriableError?: unknown };
    if (typeof o.type === 'string') types.push(o.type);
    if (Array.isArray(o.errors)) o.errors.forEach(visit);
    visit(o.cause);
    visit(o.originalError);
    visit(o.retriableError);
  };
  visit(e);
  return types;
}
