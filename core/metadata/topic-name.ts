/**
 * Kafka's topic name rules, shared by every metadata backend so that a name accepted by one is
 * accepted by all: 1..249 characters of [a-zA-Z0-9._-], and not "." or ".." (which would be
 * directory names in Kafka's own layout and confuse tools that mirror it).
 */
export const MAX_TOPIC_NAME_LENGTH = 249;

const legalChars = /^[a-zA-Z0-9._-]+$/;

/** Returns why the name is not a legal topic name, or null when it is. */
export function topicNameError(name: unknown): string | null {
  if (typeof name !== 'string' || name.length === 0) return 'topic name must not be empty';
  if (name.length > MAX_TOPIC_NAME_LENGTH) return `topic name is ${name.length} characters, the limit is ${MAX_TOPIC_NAME_LENGTH}`;
  if (name === '.' || name === '..') return `topic name cannot be "${name}"`;
  if (!legalChars.test(name)) return `topic name ${JSON.stringify(name)} has characters other than ASCII letters, digits, '.', '_' and '-'`;
  return null;
}
