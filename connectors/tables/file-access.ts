/**
 * Table files as DuckDB reads them: local paths. A folder object store already has them on disk
 * (read in place); other stores (S3) are downloaded into the scratch folder for the operation.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { TableContext } from './table-context.js';

let downloads = 0;

export async function localFiles(ctx: TableContext, keys: readonly string[]): Promise<string[]> {
  return Promise.all(
    keys.map(async (key) => {
      const direct = ctx.localPathOf(key);
      if (direct !== null) return direct;
      const path = join(ctx.tempDir, `dl-${downloads++}-${key.split('/').pop()}`);
      await writeFile(path, await ctx.objects.get(key));
      return path;
    }),
  );
}
