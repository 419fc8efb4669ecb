import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { UsageError } from '../../agent/cli/flags.js';
import { agentConfigFromArgs } from '../../agent/config.js';

const dir = mkdtempSync(join(tmpdir(), 'weir-config-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

const usage = (pattern: RegExp) => (e: unknown) => e instanceof UsageError && pattern.test(e.message) && !e.message.includes('\n');

describe('agent config', () => {
  it('defaults: fs object store and SQLite metadata in ./weir-data, port 9092', () => {
    const c = agentConfigFromArgs([], {});
    assert.equal(c.objectStore, 'fs');
    assert.equal(c.metadataStore, 'sqlite');
    assert.equal(c.dataDir, './weir-data');
    assert.equal(c.port, 9092);
    assert.equal(c.lingerMs, 250);
    assert.equal(c.flushBytes, 8 * 1024 * 1024);
  });

  it('reads a YAML config file; environment beats the file and flags beat both', () => {
    const path = file('a.yaml', 'port: 9100\nlinger-ms: 50\nobject-store: s3\nbucket: logs\ns3-endpoint: http://127.0.0.1:4568\nmetadata: redis\nredis-url: redis://127.0.0.1:6379\n');
    const fromFile = agentConfigFromArgs(['--config', path], {});
    assert.equal(fromFile.port, 9100);
    assert.equal(fromFile.lingerMs, 50);
    assert.deepEqual(fromFile.s3, { bucket: 'logs', endpoint: 'http://127.0.0.1:4568', region: 'us-east-1', pathStyle: true, prefix: '', requestTimeoutMs: 30_000, maxAttempts: 5 });
    assert.equal(fromFile.redisUrl, 'redis://127.0.0.1:6379');
    const envWins = agentConfigFromArgs([`--config=${path}`], { WEIR_PORT: '9200' });
    assert.equal(envWins.port, 9200);
    const flagWins = agentConfigFromArgs(['--config', path, '--port', '9300'], { WEIR_PORT: '9200' });
    assert.equal(flagWins.port, 9300);
    const viaEnv = agentConfigFromArgs([], { WEIR_CONFIG: path });
    assert.equal(viaEnv.port, 9100);
  });

  it('names the bad setting in one line', () => {
    assert.throws(() => agentConfigFromArgs(['--object-store', 's3'], {}), usage(/missing --bucket/));
    assert.throws(() => agentConfigFromArgs(['--metadata', 'redis'], {}), usage(/missing --redis-url/));
    assert.throws(() => agentConfigFromArgs(['--metadata', 'redis', '--redis-url', 'localhost'], {}), usage(/--redis-url/));
    assert.throws(() => agentConfigFromArgs(['--object-store', 'gcs'], {}), usage(/"gcs" for --object-store/));
    assert.throws(() => agentConfigFromArgs(['--object-store', 's3', '--bucket', 'b', '--s3-endpoint', 'ftp://x'], {}), usage(/--s3-endpoint/));
    assert.throws(() => agentConfigFromArgs(['--config', join(dir, 'absent.yaml')], {}), usage(/cannot read config file .*absent\.yaml/));
    assert.throws(() => agentConfigFromArgs(['--config', file('b.yaml', 'port: [unclosed\n')], {}), usage(/b\.yaml is not valid YAML/));
    assert.throws(() => agentConfigFromArgs(['--config', file('c.yaml', 'porty: 1\n')], {}), usage(/unknown setting "porty" in .*c\.yaml/));
    assert.throws(() => agentConfigFromArgs(['--config', file('d.yaml', 'port: seventy\n')], {}), usage(/"seventy" for --port.*d\.yaml/));
    assert.throws(() => agentConfigFromArgs(['--config', file('e.yaml', '- port\n')], {}), usage(/must be a mapping/));
  });
});
