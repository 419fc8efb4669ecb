/**
 * What `weir run <file>` loads from a pipeline file: the pipelines it exports, the default export
 * and named exports alike (a file may define several). Anything else exported is ignored, so a
 * file can also export helpers and types.
 */
import { WeirError } from '../../core/errors.js';
import { isPipeline, type Pipeline } from './pipeline.js';

export function pipelinesOf(module: Record<string, unknown>, file = 'the module'): Pipeline[] {
  const found: Pipeline[] = [];
  const byName = new Map<string, Pipeline>();
  const keys = Object.keys(module).sort((a, b) => (a === 'default' ? -1 : b === 'default' ? 1 : a < b ? -1 : 1));
  for (const k of keys) {
    const p = module[k];
    if (!isPipeline(p)) continue;
    const other = byName.get(p.name);
    if (other === p) continue; // `export default wordCount` and `export { wordCount }`
    if (other !== undefined) throw new WeirError('invalid_argument', `${file} exports two different pipelines named ${JSON.stringify(p.name)}`);
    byName.set(p.name, p);
    found.push(p);
  }
  if (found.length === 0) throw new WeirError('invalid_argument', `${file} exports no pipeline (export default pipeline('name').from(...)...to(...))`);
  return found;
}
