// `plantsync config validate|schema|show`: what systemd's ExecStartPre, central tooling and technicians run.
// The config is the main file plus conf.d/*.json beside it, merged in name order (agent/config-files.ts).
import type { Command } from 'commander';
import { ConfigError, configJsonSchema } from '../agent/config.ts';
import { loadConfigFiles, maskSecrets } from '../agent/config-files.ts';

const DEFAULT = '/etc/plantsync/plantsync.json';

/** Loads the files; a ConfigError is printed and exits 2. */
function load(path: string) {
  try {
    return loadConfigFiles(path);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    console.error(err.message);
    process.exitCode = 2;
    return undefined;
  }
}

export function register(program: Command): void {
  const config = program.command('config').description('validate, show or describe the config (main file plus conf.d/*.json)');
  config
    .command('validate [path]')
    .description('check the config; errors name the file, the JSON path and the reason (exit 2)')
    .action((path = DEFAULT) => {
      const c = load(path);
      if (c) console.log(`${c.files.join(' + ')}: valid (config version ${c.version})`);
    });
  config
    .command('show [path]')
    .description('print the effective config (files merged, secrets masked) with its version')
    .action((path = DEFAULT) => {
      const c = load(path);
      if (c) console.log(JSON.stringify({ version: c.version, files: c.files, config: maskSecrets(c.config) }, null, 2));
    });
  config
    .command('schema')
    .description('print the configuration as JSON Schema')
    .action(() => console.log(JSON.stringify(configJsonSchema(), null, 2)));
}
