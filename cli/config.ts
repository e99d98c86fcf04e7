// `plantsync config validate|schema|show`: what systemd's ExecStartPre, central tooling and technicians run.
// The config is the main file plus conf.d/*.json beside it, merged in name order (agent/config-files.ts).
import type { Command } from 'commander';
import { ConfigError, configJsonSchema } from '../agent/config.ts';
import { loadConfigFiles, maskSecrets } from '../agent/config-files.ts';
import { checkSecrets, SecretError } from '../agent/secrets.ts';
import { configWarnings } from '../agent/config-warnings.ts';

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

/** The config file from the argument or --config (both, naming different files, is an error: exit 2). */
function pathOf(arg: string | undefined, option: string | undefined): string | undefined {
  if (arg !== undefined && option !== undefined && arg !== option) {
    console.error(`two config files given: ${arg} and --config ${option}; give one`);
    process.exitCode = 2;
    return undefined;
  }
  return option ?? arg ?? DEFAULT;
}

export function register(program: Command): void {
  const config = program.command('config').description('validate, show or describe the config (main file plus conf.d/*.json)');
  config
    .command('validate [path]')
    .description('check the config; errors name the file, the JSON path and the reason (exit 2)')
    .option('-c, --config <path>', `the main config file, as for every other verb (or as the argument; default ${DEFAULT})`)
    .option('--secrets', 'also read every ${env:...} and ${file:...} reference, as the agent will (run it as the agent\'s user)')
    .action((arg: string | undefined, o: { secrets?: boolean; config?: string }) => {
      const path = pathOf(arg, o.config);
      if (path === undefined) return;
      const c = load(path);
      if (!c) return;
      if (o.secrets) {
        try {
          checkSecrets(c.config);
        } catch (err) {
          if (!(err instanceof SecretError)) throw err;
          console.error(`${c.fileOf(err.where)}: ${err.message}`); // the fragment that holds the reference
          process.exitCode = 2;
          return;
        }
      }
      for (const w of configWarnings(c.config)) console.error(`warning: ${w}`);
      console.log(`${c.files.join(' + ')}: valid${o.secrets ? ', secrets readable' : ''} (config version ${c.version})`);
    });
  config
    .command('show [path]')
    .description('print the effective config (files merged, secrets masked) with its version')
    .option('-c, --config <path>', `the main config file, as for every other verb (or as the argument; default ${DEFAULT})`)
    .action((arg: string | undefined, o: { config?: string }) => {
      const path = pathOf(arg, o.config);
      if (path === undefined) return;
      const c = load(path);
      if (c) console.log(JSON.stringify({ version: c.version, files: c.files, config: maskSecrets(c.config) }, null, 2));
    });
  config
    .command('schema')
    .description('print the configuration as JSON Schema')
    .action(() => console.log(JSON.stringify(configJsonSchema(), null, 2)));
}
