// The admin surface: the Unix socket (every CLI verb, changes included, peer-checked and audited) and the
// read-only HTTP listener (/metrics, /healthz, /readyz, /status). Neither may stop the agent from moving postings:
// one that cannot start is logged and the agent runs on without it.
import type { Server } from 'node:http';
import { adminUrl, startAdminHttp, type AdminView } from './admin-http.ts';
import { startAdminSocket } from './admin-socket.ts';
import type { Logger } from './log.ts';
import { adminSocketPath } from './peer-proof.ts';

export class AdminSurface {
  /** The HTTP listener's base URL, once started (undefined when disabled or not listening). */
  url: string | undefined;
  private http: Server | undefined;
  private socket: Server | undefined;
  private readonly view: AdminView;
  private readonly log: Logger;

  constructor(view: AdminView, log: Logger) {
    this.view = view;
    this.log = log;
  }

  async start(): Promise<void> {
    if (!this.socket) {
      try {
        this.socket = await startAdminSocket(this.view);
        this.log.info({ socket: adminSocketPath(this.view.config.agent.stateDir) }, 'admin socket listening (plantsync status, dlq, rejected, replay, keys)');
      } catch (err) {
        this.log.error({ err: (err as Error).message }, 'admin socket could not start; running without it (the CLI cannot reach this agent)');
      }
    }
    const a = this.view.config.admin;
    if (!a.enabled) return;
    try {
      this.http = await startAdminHttp(this.view, a.host, a.port);
      this.url = adminUrl(this.http);
      this.log.info({ url: this.url }, 'admin HTTP listening (the status page at /, /metrics, /healthz, /readyz, /status)');
    } catch (err) {
      // A taken port must not stop the agent from moving postings: it runs on, without the listener.
      this.log.error({ err: (err as Error).message, host: a.host, port: a.port }, 'admin HTTP listener could not start; running without it');
    }
  }

  /** Closes the HTTP listener (a reload that changed `admin` starts it again); the socket too when the agent stops. */
  async stop(socketToo = false): Promise<void> {
    // A browser showing the status page keeps its connection busy (it asks every 2 s): close() alone would wait
    // for it indefinitely. Everything on this listener is a read, so cutting it loses nothing.
    await new Promise((r) => {
      if (!this.http) return r(undefined);
      this.http.close(r);
      this.http.closeAllConnections();
    });
    this.http = undefined;
    this.url = undefined;
    if (socketToo) {
      await new Promise((r) => (this.socket ? this.socket.close(r) : r(undefined)));
      this.socket = undefined;
    }
  }
}
