// CI check: core/protocol/generated must be exactly what scripts/gen-protocol.ts produces from
// the specs: Apache Kafka's (../shared/kafka-message-specs) and Weir's own (weir-specs/, the
// Weir-only APIs such as WeirMirrorWrite). Both folders are read at their default places. Regenerates into a temp directory (the working tree is never touched) and compares
// file lists and contents; exits 1 with the differing files listed, 0 when up to date.
//
//   node scripts/check-generated.mjs
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const committed = join(root, 'core/protocol/generated');
const fresh = mkdtempSync(join(tmpdir(), 'weir-gen-protocol-'));

function listTs(dir) {
  try {
    return readdirSync(dir)
      .filter((f) => f.endsWith('.ts'))
      .sort();
  } catch {
    return [];
  }
}

let exitCode = 0;
try {
  // tsx as a loader of this same node binary: no npx lookup, no shell.
  const gen = spawnSync(process.execPath, ['--import', 'tsx', join(root, 'scripts/gen-protocol.ts'), '--out', fresh], {
    cwd: root,
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  if (gen.status !== 0) {
    console.error(`check-generated: gen-protocol failed (${gen.status ?? gen.signal})`);
    exitCode = 1;
  } else {
    const want = listTs(fresh);
    const have = listTs(committed);
    const problems = [];
    for (const f of want) {
      if (!have.includes(f)) problems.push(`missing: ${f}`);
      else if (readFileSync(join(fresh, f), 'utf8') !== readFileSync(join(committed, f), 'utf8')) problems.push(`differs: ${f}`);
    }
    for (const f of have) if (!want.includes(f)) problems.push(`stale: ${f}`);
    if (problems.length > 0) {
      console.error('check-generated: core/protocol/generated is out of date (Kafka specs or weir-specs/ changed); run `npm run gen:protocol` and commit:');
      for (const p of problems) console.error(`  ${p}`);
      exitCode = 1;
    } else {
      console.log(`check-generated: core/protocol/generated is up to date (${want.length} files)`);
    }
  }
} finally {
  rmSync(fresh, { recursive: true, force: true });
}
process.exit(exitCode);
