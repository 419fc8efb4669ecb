/**
 * Nexmark through a real agent: the standard auction benchmark's queries (pipelines/nexmark)
 * reading the `nexmark` topic (JSON events; `npm run bench -- nexmark` runs the same queries in
 * process with the generator). Each query is its own pipeline writing `nexmark-<query>-out`.
 *
 *   npx weir run examples/nexmark.ts --pipeline nexmark-q5    # one query
 *   npx weir run examples/nexmark.ts                          # all of them
 */
import { NEXMARK_QUERIES, nexmarkQuery } from '../pipelines/nexmark/index.js';
import { serdes, toTopic } from '../pipelines/index.js';

export const nexmarkPipelines = NEXMARK_QUERIES.map((q) => nexmarkQuery(q, { sink: toTopic(`nexmark-${q}-out`, { key: serdes.json(), value: serdes.json() }) }));

export const [q0, q1, q2, q3, q4, q5, q7, q8] = nexmarkPipelines;
