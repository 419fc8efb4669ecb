/**
 * The weir package's root folder: the first folder above this module with a package.json. The
 * same walk works from the sources (core/) and from the compiled tree (dist/core/), which is
 * what files tsc does not copy to dist/ (Redis .lua scripts, the package's own node_modules)
 * need.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

let root: string | null = null;

export function packageRoot(): string {
  if (root !== null) return root;
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const up = dirname(dir);
    if (up === dir) throw new Error(`no package.json above ${fileURLToPath(import.meta.url)}`);
    dir = up;
  }
  root = dir;
  return dir;
}

/** A path inside the package, e.g. packagePath('core', 'metadata', 'lua'). */
export function packagePath(...segments: string[]): string {
  return join(packageRoot(), ...segments);
}
