// Reloads the agent's config from its files on SIGHUP and when the files change. Edits come in bursts (an editor's
// save, a config-management run writing several fragments, an atomic rename), so changes are debounced, and a
// reload whose files hash to the running version does nothing. A config that fails validation (or needs a restart)
// is refused: the agent runs on, on the last good config, and says so in its log, status and metrics.
import { watch, type FSWatcher } from 'node:fs';
import { basename, dirname } from 'node:path';
import type { Agent } from './agent.ts';
import { ConfigError } from './config.ts';
import { confDir, loadConfigFiles } from './config-files.ts';
import type { Logger } from './log.ts';

export class ConfigReloader {
  private readonly watchers: FSWatcher[] = [];
  private timer: NodeJS.Timeout | undefined;
  private readonly agent: Agent;
  private readonly mainPath: string;
  private readonly log: Logger;
  private readonly debounceMs: number;

  constructor(agent: Agent, mainPath: string, log: Logger, debounceMs = 500) {
    this.agent = agent;
    this.mainPath = mainPath;
    this.log = log.child({ component: 'config' });
    this.debounceMs = debounceMs;
  }

  /** Reads the files again and applies them if they differ from the running config. Never throws. */
  async reload(trigger: string): Promise<'applied' | 'unchanged' | 'refused'> {
    let next;
    try {
      next = loadConfigFiles(this.mainPath);
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      this.agent.configRefused(err.message);
      return 'refused';
    }
    this.agent.configState.files = next.files;
    if (next.version === this.agent.configVersion) {
      if (this.agent.configState.error) this.agent.configState.error = undefined; // the bad edit was undone
      this.log.debug({ trigger }, 'config files unchanged');
      return 'unchanged';
    }
    try {
      await this.agent.reload(next);
      return 'applied';
    } catch (err) {
      this.agent.configRefused((err as Error).message);
      return 'refused';
    }
  }

  /**
   * Watches the main file's folder and conf.d/ (folders, not files: config management replaces files by rename,
   * which a watch on the old file would miss). A folder that appears later (conf.d made after start) is not seen
   * until the next SIGHUP.
   */
  watch(): void {
    const main = basename(this.mainPath);
    const onChange = (dir: string) => (_: string, name: string | null) => {
      if (dir === 'main' && name !== null && name !== main && name !== 'conf.d') return;
      clearTimeout(this.timer);
      this.timer = setTimeout(() => void this.reload('file change'), this.debounceMs);
    };
    for (const [dir, which] of [[dirname(this.mainPath), 'main'], [confDir(this.mainPath), 'conf.d']] as const) {
      try {
        this.watchers.push(watch(dir, { persistent: false }, onChange(which)));
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') this.log.warn({ err: (err as Error).message, dir }, 'cannot watch config folder; reload with SIGHUP');
      }
    }
  }

  close(): void {
    clearTimeout(this.timer);
    for (const w of this.watchers.splice(0)) w.close();
  }
}
