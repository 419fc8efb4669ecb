/**
 * Loads the pipelines a user's file exports, for `weir run <file>`.
 *
 * - .js/.mjs: imported as is (compiled with tsc, or written in JavaScript).
 * - .ts/.mts: compiled in memory with esbuild (bundling the file and its relative imports,
 *   packages left external) into a temporary .mjs next to the file, imported, then deleted.
 *   Imports that resolve into Weir's own sources (pipelines/, core/) are redirected to Weir's
 *   compiled modules, the very ones the runtime runs: the pipeline's operators and the runtime's
 *   task must share one module instance (the ambient task context lives in a module variable).
 *   esbuild is a declared dependency; should an install lack it, the error says to compile the
 *   file first. See docs/decisions.md.
 */
import { existsSync, rmSync } from 'node:fs';
import { dirname, extname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { threadId } from 'node:worker_threads';
import { WeirError } from '../../core/errors.js';
import { packageRoot } from '../../core/package-root.js';
import { pipelinesOf } from '../define/load.js';
import type { Pipeline } from '../define/pipeline.js';

/** The repository (or installed package) root: the first folder above this file with a package.json. */
function weirRoot(): string {
  return packageRoot();
}

/** Where this module's compiled tree lives (dist/ when running compiled). */
function compiledRoot(root: string): string {
  const here = fileURLToPath(import.meta.url);
  return here.startsWith(join(root, 'dist') + sep) ? join(root, 'dist') : root;
}

interface EsbuildLike {
  build(options: Record<string, unknown>): Promise<{ errors: { text: string }[] }>;
}

async function loadEsbuild(file: string): Promise<EsbuildLike> {
  try {
    return (await import('esbuild' as string)) as EsbuildLike;
  } catch {
    throw new WeirError(
      'unsupported',
      `cannot load ${file}: running a .ts file needs esbuild (npm install esbuild), or compile it with tsc and run the .js`,
    );
  }
}

async function compileTs(file: string): Promise<string> {
  const esbuild = await loadEsbuild(file);
  const root = weirRoot();
  const compiled = compiledRoot(root);
  // Unique per thread too: `weir run --threads N` compiles the file once on every thread at once.
  const out = join(dirname(file), `.weir-run-${process.pid}-${threadId}-${Date.now()}.mjs`);
  const redirect = {
    name: 'weir-modules',
    setup(build: { onResolve: (o: { filter: RegExp }, cb: (a: { path: string; resolveDir: string }) => unknown) => void }) {
      build.onResolve({ filter: /^\.\.?\// }, (args) => {
        const abs = resolve(args.resolveDir, args.path);
        const rel = relative(root, abs);
        if (rel.startsWith('..') || rel.startsWith(`dist${sep}`)) return undefined;
        const top = rel.split(sep)[0];
        if (top !== 'pipelines' && top !== 'core') return undefined;
        const target = join(compiled, rel.replace(/\.ts$/, '.js'));
        return existsSync(target) ? { path: target, external: true } : undefined;
      });
    },
  };
  try {
    const res = await esbuild.build({
      entryPoints: [file],
      outfile: out,
      bundle: true,
      format: 'esm',
      platform: 'node',
      target: 'node20',
      packages: 'external',
      sourcemap: 'inline',
      logLevel: 'silent',
      plugins: [redirect],
    });
    if (res.errors.length > 0) throw new Error(res.errors.map((e) => e.text).join('; '));
  } catch (e) {
    rmSync(out, { force: true });
    const msg = (e as { errors?: { text: string }[] }).errors?.map((x) => x.text).join('; ') ?? (e as Error).message;
    throw new WeirError('invalid_argument', `cannot compile ${file}: ${msg}`);
  }
  return out;
}

export async function loadPipelineFile(path: string): Promise<Pipeline[]> {
  const file = resolve(path);
  if (!existsSync(file)) throw new WeirError('not_found', `pipeline file ${path} does not exist`);
  const ext = extname(file);
  let module: Record<string, unknown>;
  if (ext === '.ts' || ext === '.mts') {
    const out = await compileTs(file);
    try {
      module = (await import(pathToFileURL(out).href)) as Record<string, unknown>;
    } finally {
      rmSync(out, { force: true });
    }
  } else if (ext === '.js' || ext === '.mjs') {
    module = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
  } else {
    throw new WeirError('invalid_argument', `pipeline file ${path} must be .ts, .mts, .js or .mjs`);
  }
  return pipelinesOf(module, path);
}
