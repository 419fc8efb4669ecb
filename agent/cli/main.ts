#!/usr/bin/env node
/**
 * The `weir` command. Subcommands live in their own files; this file only dispatches and turns
 * usage errors into one line on stderr and exit code 2.
 */
import { UsageError } from './flags.js';

// libuv's pool (4 threads by default) runs every fs call; concurrent flush fsyncs would starve
// Fetch's object reads. Takes effect because nothing has used the pool yet at this point.
process.env.UV_THREADPOOL_SIZE ??= '16';

const usage = `usage: weir <command> [flags]

commands:
  agent                          run an agent (Kafka protocol on --host:--port)
  topics create|list|describe|delete   manage topics on a running agent
  groups list|describe|delete    inspect and delete consumer groups on a running agent
  run <file.ts|file.js>          run the pipelines a file exports (--workers N, --redis URL)
  tables sync|list|describe|drop compact topics into Parquet/Arrow tables (connectors/tables)
  query "SQL"                    SQL with DuckDB over topics (table files + the log's tail)
  mirror [status|promote]        copy topics from Kafka into Weir, offsets preserved (connectors/mirror)

Run "weir <command> --help" for a command's flags.`;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'agent':
      return (await import('./agent-command.js')).agentCommand(rest);
    case 'topics':
      return (await import('./topics-command.js')).topicsCommand(rest);
    case 'groups':
      return (await import('./groups-command.js')).groupsCommand(rest);
    case 'run':
      return (await import('./run-command.js')).runCommand(rest);
    case 'tables':
      return (await import('./tables-command.js')).tablesCommand(rest);
    case 'query':
      return (await import('./query-command.js')).queryCommand(rest);
    case 'mirror':
      return (await import('./mirror-command.js')).mirrorCommand(rest);
    case undefined:
    case '--help':
    case '-h':
    case 'help':
      process.stdout.write(`${usage}\n`);
      return command === undefined ? 2 : 0;
    default:
      throw new UsageError(`unknown command ${JSON.stringify(command)} (try weir --help)`);
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    if (e instanceof UsageError) {
      process.stderr.write(`weir: ${e.message}\n`);
      process.exitCode = 2;
    } else {
      process.stderr.write(`weir: ${(e as Error)?.message ?? String(e)}\n`);
      process.exitCode = 1;
    }
  },
);
