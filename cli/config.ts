// `plantsync config validate|schema`: what systemd's ExecStartPre and central tooling run.
import type { Command } from 'commander';
import { ConfigError, configJsonSchema, loadConfig } from '../agent/config.ts';

export function register(program: Command): void {
  const config = program.command('config').description('validate a config file or print its JSON Schema');
  config
    .command('validate <path>')
    .description('check a config file; errors name the file, the JSON path and the reason')
    .action((path: string) => {
      try {
        const { version } = loadConfig(path);
        console.log(`${path}: valid (config version ${version})`);
      } catch (err) {
        if (!(err instanceof ConfigError)) throw err;
        console.error(err.message);
        process.exitCode = 2;
      }
    });
  config
    .command('schema')
    .description('print the configuration as JSON Schema')
    .action(() => console.log(JSON.stringify(configJsonSchema(), null, 2)));
}
