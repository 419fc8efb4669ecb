/** Typed serdes: `serdes.json<Click>()`, `serdes.string()`, `serdes.bytes()`, `serdes.avro<Click>(schema)`. */
export { json } from './json.js';
export { string } from './string.js';
export { bytes } from './bytes.js';
export { avro } from './avro.js';
