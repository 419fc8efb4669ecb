/**
 * `weir topics create|list|describe|delete`: manages topics on a running agent over the Kafka
 * protocol (kafkajs admin), so it works against any agent the user can reach, as any client would.
 *
 * Bad flags, values and topic names are refused before anything is sent (a UsageError: one line on
 * stderr, exit 2); config values are checked here with the agent's own rules, because kafkajs
 * drops the error messages the agent sends back. Failures of the operation itself (agent
 * unreachable, topic exists, ...) print one line naming the topic or address and exit 1.
 */
import { Kafka, logLevel, type Admin, type ConfigResourceTypes } from 'kafkajs';
import { topicNameError } from '../../core/metadata/topic-name.js';
import { validateTopicConfig } from '../topic-configs.js';
import { flagsHelp, UsageError, type FlagDef } from './flags.js';
import { parseSubcommand } from './subcommand-flags.js';

/** kafkajs is CommonJS and Node cannot see its ConfigResourceTypes export from ESM; the value is Kafka's. */
const TOPIC_RESOURCE = 2 as ConfigResourceTypes;

const commonFlags: Record<string, FlagDef> = {
  'bootstrap-server': { type: 'string', default: '127.0.0.1:9092', description: 'agent to talk to, host:port (several: comma-separated)' },
};

/** Flags that only some subcommands take; only --bootstrap-server is read from the environment. */
const commandFlags: Record<string, Record<string, FlagDef>> = {
  create: {
    partitions: { type: 'int', min: 1, max: 100_000, env: false, description: 'partition count (default: the agent\'s --default-partitions)' },
    'replication-factor': { type: 'int', min: 1, max: 32_767, env: false, description: 'accepted for compatibility; the object store provides durability' },
    config: { type: 'list', env: false, description: 'topic config key=value (repeatable)' },
    'if-not-exists': { type: 'bool', env: false, description: 'succeed if the topic already exists' },
  },
  list: {},
  describe: {},
  delete: {
    'if-exists': { type: 'bool', env: false, description: 'succeed if the topic does not exist' },
  },
};

const usage = `usage: weir topics <command> [TOPIC...] [flags]

commands:
  create TOPIC...        create topics
  list                   print every topic name, one per line
  describe [TOPIC...]    partitions with log start and high watermark offsets, and the configs
                         that differ from the defaults (every topic when none is named)
  delete TOPIC...        delete topics

flags:
${flagsHelp(commonFlags)} (env WEIR_BOOTSTRAP_SERVER)
create:
${flagsHelp(commandFlags.create!)}
delete:
${flagsHelp(commandFlags.delete!)}`;

/** A failure of the operation (not of the command line): exit 1 with this one line. */
class OperationError extends Error {}

const oneLine = (s: string): string => s.replace(/\s*\n\s*/g, ' ').trim();

/** kafkajs wraps errors (retries, aggregates); this finds the messages worth showing. */
function describeError(e: unknown): string {
  if (typeof e !== 'object' || e === null) return String(e);
  const err = e as { name?: string; message?: string; type?: string; errors?: unknown[]; cause?: unknown };
  if (Array.isArray(err.errors) && err.errors.length > 0) return err.errors.map(describeError).join('; ');
  if (err.name === 'KafkaJSNumberOfRetriesExceeded' && err.cause) return describeError(err.cause);
  const message = oneLine(err.message ?? String(e));
  return err.type && !message.includes(err.type) ? `${err.type}: ${message}` : message;
}

function parseBootstrap(raw: string, fromEnv: boolean): string[] {
  const servers = raw.split(',').map((s) => s.trim());
  for (const s of servers) {
    const m = /^(.+):(\d{1,5})$/.exec(s);
    if (!m || Number(m[2]) < 1 || Number(m[2]) > 65535) {
      throw new UsageError(`invalid value ${JSON.stringify(raw)} for --bootstrap-server: expected host:port${fromEnv ? ' (from WEIR_BOOTSTRAP_SERVER)' : ''}`);
    }
  }
  return servers;
}

function parseTopicNames(names: string[]): string[] {
  for (const name of names) {
    const why = topicNameError(name);
    if (why !== null) throw new UsageError(`invalid topic name ${JSON.stringify(name)}: ${why}`);
  }
  return [...new Set(names)];
}

/**
 * --config pieces. parseFlags splits list flags on commas, so a piece without '=' continues the
 * previous value: `--config cleanup.policy=compact,delete` stays one config.
 */
function parseConfigs(pieces: string[]): Array<{ name: string; value: string }> {
  const out: Array<{ name: string; value: string }> = [];
  for (const piece of pieces) {
    const eq = piece.indexOf('=');
    if (eq === -1) {
      const last = out.at(-1);
      if (!last) throw new UsageError(`invalid value ${JSON.stringify(piece)} for --config: expected key=value`);
      last.value += `,${piece}`;
      continue;
    }
    const name = piece.slice(0, eq).trim();
    if (name === '') throw new UsageError(`invalid value ${JSON.stringify(piece)} for --config: expected key=value`);
    if (out.some((c) => c.name === name)) throw new UsageError(`--config ${name} is given more than once`);
    out.push({ name, value: piece.slice(eq + 1).trim() });
  }
  for (const c of out) {
    try {
      validateTopicConfig(c.name, c.value);
    } catch (e) {
      throw new UsageError(`invalid value ${JSON.stringify(`${c.name}=${c.value}`)} for --config: ${(e as Error).message}`);
    }
  }
  return out;
}

async function connect(bootstrap: string[]): Promise<Admin> {
  const kafka = new Kafka({
    clientId: 'weir-cli',
    brokers: bootstrap,
    logLevel: logLevel.NOTHING,
    // A command line tool should fail fast: a few quick retries, then one line on stderr.
    connectionTimeout: 2_000,
    requestTimeout: 15_000,
    retry: { retries: 2, initialRetryTime: 100, maxRetryTime: 500 },
  });
  const admin = kafka.admin();
  try {
    await admin.connect();
  } catch (e) {
    throw new OperationError(`cannot connect to an agent at ${bootstrap.join(',')}: ${describeError(e)}`);
  }
  return admin;
}

async function existingTopics(admin: Admin): Promise<Set<string>> {
  return new Set(await admin.listTopics());
}

async function create(admin: Admin, names: string[], f: Record<string, unknown>, out: (line: string) => void): Promise<void> {
  const configEntries = parseConfigs((f.config as string[] | undefined) ?? []);
  for (const topic of names) {
    let created: boolean;
    try {
      created = await admin.createTopics({
        topics: [
          {
            topic,
            numPartitions: (f.partitions as number | undefined) ?? -1,
            replicationFactor: (f['replication-factor'] as number | undefined) ?? -1,
            configEntries,
          },
        ],
        waitForLeaders: true,
      });
    } catch (e) {
      throw new OperationError(`cannot create topic ${topic}: ${describeError(e)}`);
    }
    if (created) out(`created topic ${topic}`);
    else if (f['if-not-exists'] === true) out(`topic ${topic} already exists`);
    else throw new OperationError(`cannot create topic ${topic}: it already exists (use --if-not-exists to ignore)`);
  }
}

async function describe(admin: Admin, names: string[], out: (line: string) => void): Promise<void> {
  const existing = await existingTopics(admin);
  const missing = names.filter((n) => !existing.has(n));
  if (missing.length > 0) throw new OperationError(`topic ${missing.join(', ')} does not exist`);
  const topics = names.length > 0 ? names : [...existing].sort();
  if (topics.length === 0) return;
  const { topics: metadata } = await admin.fetchTopicMetadata({ topics });
  for (const topic of topics) {
    const meta = metadata.find((t) => t.name === topic);
    if (!meta) throw new OperationError(`topic ${topic} does not exist`);
    const offsets = await admin.fetchTopicOffsets(topic);
    const { resources } = await admin.describeConfigs({ resources: [{ type: TOPIC_RESOURCE, name: topic }], includeSynonyms: false });
    const configs = (resources[0]?.configEntries ?? [])
      .filter((c) => !c.isDefault)
      .map((c) => `${c.configName}=${c.configValue}`)
      .sort();
    const partitions = [...meta.partitions].sort((a, b) => a.partitionId - b.partitionId);
    const replicationFactor = partitions[0]?.replicas.length ?? 0;
    out(`Topic: ${topic}\tPartitionCount: ${partitions.length}\tReplicationFactor: ${replicationFactor}\tConfigs: ${configs.join(',')}`);
    for (const p of partitions) {
      const o = offsets.find((x) => x.partition === p.partitionId);
      out(
        `\tTopic: ${topic}\tPartition: ${p.partitionId}\tLeader: ${p.leader}\tReplicas: ${p.replicas.join(',')}\tIsr: ${p.isr.join(',')}` +
          `\tLogStartOffset: ${o?.low ?? '?'}\tHighWatermark: ${o?.high ?? '?'}`,
      );
    }
  }
}

async function remove(admin: Admin, names: string[], ifExists: boolean, out: (line: string) => void): Promise<void> {
  const existing = await existingTopics(admin);
  const missing = names.filter((n) => !existing.has(n));
  if (missing.length > 0 && !ifExists) throw new OperationError(`cannot delete topic ${missing.join(', ')}: it does not exist (use --if-exists to ignore)`);
  for (const topic of names.filter((n) => existing.has(n))) {
    try {
      await admin.deleteTopics({ topics: [topic] });
    } catch (e) {
      throw new OperationError(`cannot delete topic ${topic}: ${describeError(e)}`);
    }
    out(`deleted topic ${topic}`);
  }
}

export async function topicsCommand(argv: string[]): Promise<number> {
  const parsed = parseSubcommand(argv, { command: 'topics', usage, commonFlags, commandFlags });
  if (parsed.help !== undefined) return parsed.help;
  const { sub, flags: f, positionals } = parsed;
  const bootstrap = parseBootstrap(f['bootstrap-server'] as string, parsed.bootstrapFromEnv);
  const names = parseTopicNames(positionals);
  if ((sub === 'create' || sub === 'delete') && names.length === 0) throw new UsageError(`topics ${sub} needs at least one topic name`);
  if (sub === 'list' && names.length > 0) throw new UsageError(`topics list takes no topic names (got ${JSON.stringify(positionals[0])})`);
  if (sub === 'create') parseConfigs((f.config as string[] | undefined) ?? []); // refuse bad configs before connecting

  const out = (line: string): void => {
    process.stdout.write(`${line}\n`);
  };
  let admin: Admin | null = null;
  try {
    admin = await connect(bootstrap);
    switch (sub) {
      case 'create':
        await create(admin, names, f, out);
        break;
      case 'list':
        for (const name of [...(await existingTopics(admin))].sort()) out(name);
        break;
      case 'describe':
        await describe(admin, names, out);
        break;
      case 'delete':
        await remove(admin, names, f['if-exists'] === true, out);
        break;
    }
    return 0;
  } catch (e) {
    const message = e instanceof OperationError ? e.message : `topics ${sub} failed: ${describeError(e)}`;
    process.stderr.write(`weir: ${oneLine(message)}\n`);
    return 1;
  } finally {
    await admin?.disconnect().catch(() => undefined);
  }
}
