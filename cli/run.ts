// `plantsync run --config PATH`: the agent, until SIGTERM or SIGINT. SIGHUP (systemd's ExecReload) and changes to
// the config files reload the config without a restart.
import type { Command } from 'commander';
import { Agent } from '../agent/agent.ts';
import { ConfigError } from '../agent/config.ts';
import { loadConfigFiles } from '../agent/config-files.ts';
import { SecretError } from '../agent/secrets.ts';
import { createLogger } from '../agent/log.ts';
import { ConfigReloader } from '../agent/config-reload.ts';
import { SystemdNotifier } from './systemd-notify.ts';

export function register(program: Command): void {
  program
    .command('run')
    .description('run the agent')
    .requiredOption('-c, --config <path>', 'config file', '/etc/plantsync/plantsync.json')
    .option('--shutdown-deadline <ms>', 'how long in-flight deliveries may finish on stop', '10000')
    .option('--no-watch', 'reload only on SIGHUP, not when the config files change')
    .action(async (o: { config: string; shutdownDeadline: string; watch: boolean }) => {
      const log = createLogger();
      let loaded;
      try {
        loaded = loadConfigFiles(o.config);
      } catch (err) {
        if (!(err instanceof ConfigError)) throw err;
        log.fatal(err.message);
        process.exitCode = 2;
        return;
      }
      // A damaged spool file stops the agent with exit 1 (systemd restarts it; the next open moves the file aside):
      // it never runs on refusing every commit while it looks alive.
      let fatal = () => {};
      const agent = new Agent({ config: loaded.config, configVersion: loaded.version, log, onFatal: () => fatal() });
      agent.configState.files = loaded.files;
      // Handlers go in before start: a SIGTERM during start-up still stops the agent gracefully.
      const systemd = new SystemdNotifier(log);
      const reloader = new ConfigReloader(agent, o.config, log);
      const onHup = () => {
        void systemd
          .reloading()
          .then(() => reloader.reload('SIGHUP'))
          .then(() => systemd.ready(`running config ${agent.configVersion}`));
      };
      process.on('SIGHUP', onHup);
      const stopper = stopOnSignal(agent, Number(o.shutdownDeadline), () => void systemd.stopping());
      fatal = () => {
        process.exitCode = 1;
        stopper.stop();
      };
      let started = true;
      try {
        await agent.start();
      } catch (err) {
        // A config problem (a secret that cannot be read) exits 2, which the unit does not restart on: one line
        // naming it, not a stack trace every 5 seconds. Anything else (the spool held by another agent, a CA file
        // that cannot be read) is logged as one fatal record and exits 1.
        const config = err instanceof SecretError || err instanceof ConfigError;
        const file = err instanceof SecretError && err.where.startsWith('/') ? loaded.fileOf(err.where) : o.config;
        if (config) log.fatal(`${file}: ${(err as Error).message}`);
        else log.fatal({ err }, `agent could not start: ${(err as Error).message}`);
        process.exitCode = config ? 2 : 1;
        started = false;
        stopper.stop();
      }
      if (started) {
        if (o.watch) reloader.watch();
        await systemd.ready(`running config ${agent.configVersion}`);
      }
      await stopper.done;
      reloader.close();
      process.off('SIGHUP', onHup);
    });
}

/** `done` resolves after a graceful stop, on SIGTERM/SIGINT or `stop()`; a second signal exits at once. */
export function stopOnSignal(agent: Agent, deadlineMs: number, onStopping?: () => void): { done: Promise<void>; stop: () => void } {
  let stopNow = () => {};
  const done = new Promise<void>((resolve) => {
    // The agent may have nothing scheduled while idle; this keeps the process up until it is told to stop.
    const keepAlive = setInterval(() => {}, 3600_000);
    const stop = () => {
      clearInterval(keepAlive);
      onStopping?.();
      process.once('SIGINT', () => process.exit(130));
      process.once('SIGTERM', () => process.exit(143));
      agent.stop(deadlineMs).then(resolve, (err: unknown) => {
        console.error(err);
        process.exitCode = 1;
        resolve();
      });
    };
    stopNow = () => {
      process.off('SIGTERM', stop);
      process.off('SIGINT', stop);
      stop();
    };
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  });
  return { done, stop: () => stopNow() };
}
