/**
 * `weir agent` refuses bad command lines: it exits non-zero before listening, with one line on
 * stderr that names what was wrong, instead of starting with a surprise configuration.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { AGENT_CLI } from '../helpers/agent-process.js';
import { runProcess } from '../helpers/run-process.js';

const dataDir = mkdtempSync(join(tmpdir(), 'weir-cli-'));
after(() => rmSync(dataDir, { recursive: true, force: true }));

async function weir(args: string[]) {
  const r = await runProcess(process.execPath, { args: [AGENT_CLI, ...args], timeoutMs: 20_000 });
  assert.equal(r.timedOut, false, `weir ${args.join(' ')} did not exit (it should refuse to start)\n${r.stdout}${r.stderr}`);
  return r;
}

describe('weir agent with a bad command line', () => {
  const cases: Array<{ args: string[]; mentions: RegExp[] }> = [
    { args: ['agent', '--data-dir', dataDir, '--port', 'notanumber'], mentions: [/port/, /notanumber/] },
    { args: ['agent', '--data-dir', dataDir, '--port', '0', '--bogus-flag'], mentions: [/--bogus-flag/] },
    { args: ['agent', '--data-dir', dataDir, '--port', '0', '--group-initial-rebalance-delay-ms', 'soon'], mentions: [/--group-initial-rebalance-delay-ms/, /soon/] },
    {
      args: ['agent', '--data-dir', dataDir, '--port', '0', '--group-min-session-timeout-ms', '9000', '--group-max-session-timeout-ms', '8000'],
      mentions: [/--group-min-session-timeout-ms/, /--group-max-session-timeout-ms/],
    },
  ];
  for (const c of cases) {
    it(`${c.args.filter((a) => a !== dataDir).join(' ')}: exits non-zero with one line on stderr naming the problem`, async () => {
      const r = await weir(c.args);
      assert.notEqual(r.code, 0, `exit code ${r.code}`);
      assert.equal(r.signal, null);
      assert.doesNotMatch(r.stdout, /listening/, 'it started listening');
      const lines = r.stderr.split('\n').filter((l) => l.trim() !== '');
      assert.equal(lines.length, 1, `stderr should be one line, got:\n${r.stderr}`);
      for (const m of c.mentions) assert.match(lines[0]!, m);
    });
  }
});
