/**
 * `weir agent`: runs one agent until SIGTERM/SIGINT, then stops gracefully (pending produces are
 * flushed and answered first). Prints exactly one line on stdout when ready:
 * `weir agent listening on HOST:PORT`.
 */
import { Agent } from '../agent.js';
import { agentConfigFromArgs, agentFlags } from '../config.js';
import { flagsHelp } from './flags.js';

export async function agentCommand(argv: string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(`usage: weir agent [flags]\n\nflags (each also as WEIR_<FLAG> in the environment):\n${flagsHelp(agentFlags)}\n`);
    return 0;
  }
  const config = agentConfigFromArgs(argv);
  const agent = new Agent(config);
  let address: { host: string; port: number };
  try {
    address = await agent.start();
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (err.code === 'EADDRINUSE' || err.code === 'EACCES' || err.code === 'EADDRNOTAVAIL') {
      process.stderr.write(`weir: cannot listen on ${config.host}:${config.port}: ${err.code}\n`);
      await agent.stop().catch(() => undefined);
      return 1;
    }
    throw e;
  }
  process.stdout.write(`weir agent listening on ${address.host}:${address.port}\n`);
  return new Promise<number>((resolve) => {
    let stopping = false;
    const onSignal = (sig: NodeJS.Signals): void => {
      if (stopping) return;
      stopping = true;
      agent.log('info', `${sig}: flushing pending produces and stopping`);
      agent.stop().then(
        () => resolve(0),
        (e: unknown) => {
          agent.log('error', `stop failed: ${(e as Error).message}`);
          resolve(1);
        },
      );
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  });
}
