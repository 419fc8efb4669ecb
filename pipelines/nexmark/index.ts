/** Nexmark: the model, the generator and the queries (benchmarks, examples). */
export * from './model.js';
export { NexmarkGenerator, type GeneratorConfig, FIRST_AUCTION_ID, FIRST_PERSON_ID, FIRST_CATEGORY_ID } from './generator.js';
export { nexmarkQuery, nexmarkSource, NEXMARK_QUERIES, type NexmarkQuery, type NexmarkOptions } from './queries.js';
