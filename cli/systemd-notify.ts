// The systemd notify protocol for Type=notify units, through the systemd-notify program: Node cannot send on a
// Unix datagram socket without a native module. READY=1 once the agent runs (systemd then counts the start as
// done, so `systemctl start` returns only when postings can move), WATCHDOG=1 at half the unit's WatchdogSec
// from the event loop (a hung loop stops the pings and systemd restarts the agent), RELOADING=1/READY=1 around
// a reload and STOPPING=1 on stop. systemd-notify's messages come from a child process: the unit needs
// NotifyAccess=all. Outside systemd (no NOTIFY_SOCKET) every call does nothing.
import { execFile } from 'node:child_process';
import type { Logger } from '../agent/log.ts';

export class SystemdNotifier {
  private watchdog: NodeJS.Timeout | undefined;
  private readonly enabled = Boolean(process.env.NOTIFY_SOCKET);
  private readonly log: Logger;
  private warned = false;

  constructor(log: Logger) {
    this.log = log;
  }

  /** Sends `KEY=value` lines; resolves when sent (or failed: a notify failure is logged, never fatal). */
  send(...lines: string[]): Promise<void> {
    if (!this.enabled) return Promise.resolve();
    return new Promise((resolve) => {
      execFile('systemd-notify', lines, { timeout: 5000 }, (err) => {
        if (err && !this.warned) {
          this.warned = true; // once: a missing systemd-notify must not fill the journal every watchdog tick
          this.log.warn({ err: err.message }, 'systemd-notify failed; systemd may not see readiness or watchdog pings');
        }
        resolve();
      });
    });
  }

  ready(status: string): Promise<void> {
    this.startWatchdog();
    return this.send('READY=1', `STATUS=${status}`);
  }

  reloading(): Promise<void> {
    return this.send('RELOADING=1');
  }

  stopping(): Promise<void> {
    clearInterval(this.watchdog);
    return this.send('STOPPING=1');
  }

  /** Pings at half of WATCHDOG_USEC when systemd asked for a watchdog for this process. */
  private startWatchdog(): void {
    const usec = Number(process.env.WATCHDOG_USEC);
    const pid = process.env.WATCHDOG_PID;
    if (!this.enabled || !(usec > 0) || (pid && Number(pid) !== process.pid) || this.watchdog) return;
    this.watchdog = setInterval(() => void this.send('WATCHDOG=1'), Math.max(100, usec / 2000));
    this.watchdog.unref();
  }
}
