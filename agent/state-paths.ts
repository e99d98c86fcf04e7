// What an agent keeps in its state directory (`agent.stateDir`), named in one place: the agent, the CLI (which
// finds a running agent, or its spool, through the same config) and the adapters (through the kit) agree on it.
//   spool.db      the spool (SQLite, with -wal beside it)
//   admin/        the admin socket and the CLI's peer proofs
//   pki/<adapter> an adapter's certificates (the OPC UA source's trust lists)
import { join } from 'node:path';

export function spoolPath(stateDir: string): string {
  return join(stateDir, 'spool.db');
}

/** The admin folder of a state directory: the socket and the peer proofs. */
export function adminDir(stateDir: string): string {
  return join(stateDir, 'admin');
}

export function adminSocketPath(stateDir: string): string {
  return join(adminDir(stateDir), 'admin.sock');
}

/** An adapter's certificate store (own certificate, trusted and rejected peers). */
export function pkiDir(stateDir: string, adapter: string): string {
  return join(stateDir, 'pki', adapter);
}
