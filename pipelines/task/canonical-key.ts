/**
 * The canonical string form of a state or table key. Keys are compared by value, not identity
 * (a key deserialized twice must find the same entry), so every key maps to one string:
 * strings and numbers take a one-letter type prefix (cheap: the hot path is string and number
 * keys), everything else is JSON with object keys sorted. The prefixes keep the mapping
 * injective: the string "1" and the number 1 are different keys, as in JSON.
 */
export function canonicalKey(key: unknown): string {
  switch (typeof key) {
    case 'string':
      return 's' + key;
    case 'number':
      return 'n' + key;
    case 'boolean':
      return key ? 'T' : 'F';
    case 'undefined':
      return 'u';
    case 'bigint':
      return 'i' + key.toString();
    default:
      if (key === null) return 'z';
      if (Buffer.isBuffer(key)) return 'b' + key.toString('hex');
      return 'j' + stableJson(key);
  }
}

/** JSON with object keys in sorted order, so equal values have equal text. */
export function stableJson(value: unknown): string {
  if (value === null || typeof value !== 'object') {
    return typeof value === 'bigint' ? JSON.stringify(value.toString()) : (JSON.stringify(value) ?? 'null');
  }
  if (Array.isArray(value)) return '[' + value.map(stableJson).join(',') + ']';
  if (Buffer.isBuffer(value)) return JSON.stringify({ $bytes: value.toString('base64') });
  const obj = value as Record<string, unknown>;
  const keys = Object.keys(obj).filter((k) => obj[k] !== undefined).sort();
  return '{' + keys.map((k) => JSON.stringify(k) + ':' + stableJson(obj[k])).join(',') + '}';
}
