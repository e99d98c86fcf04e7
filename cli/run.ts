// `plantsync run --config PATH`: the agent, until SIGTERM or SIGINT.
import type { Command } from 'commander';
import { Agent } from '../agent/agent.ts';
import { ConfigError, loadConfig } from '../agent/config.ts';
import { createLogger } from '../agent/log.ts';

export function register(program: Command): void {
  program
    .command('run')
    .description('run the agent')
    .requiredOption('-c, --config <path>', 'config file', '/etc/plantsync/plantsync.json')
    .option('--shutdown-deadline <ms>', 'how long in-flight deliveries may finish on stop', '10000')
    .action(async (o: { config: string; shutdownDeadline: string }) => {
      const log = createLogger();
      let loaded;
      try {
        loaded = loadConfig(o.config);
      } catch (err) {
        if (!(err instanceof ConfigError)) throw err;
        log.fatal(err.message);
        process.exitCode = 2;
        return;
      }
      const agent = new Agent({ config: loaded.config, configVersion: loaded.version, log });
      // Handlers go in before start: a SIGTERM during start-up still stops the agent gracefully.
      const stopped = stopOnSignal(agent, Number(o.shutdownDeadline));
      await agent.start();
      await stopped;
    });
}

/** Resolves after a graceful stop on SIGTERM/SIGINT; a second signal exits at once. */
export function stopOnSignal(agent: Agent, deadlineMs: number): Promise<void> {
  return new Promise((resolve) => {
    // The agent may have nothing scheduled while idle; this keeps the process up until it is told to stop.
    const keepAlive = setInterval(() => {}, 3600_000);
    const stop = () => {
      clearInterval(keepAlive);
      process.once('SIGINT', () => process.exit(130));
      process.once('SIGTERM', () => process.exit(143));
      agent.stop(deadlineMs).then(resolve, (err: unknown) => {
        console.error(err);
        process.exitCode = 1;
        resolve();
      });
    };
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  });
}
