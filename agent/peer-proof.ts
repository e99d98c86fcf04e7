// Who is on the other end of the admin socket. Node cannot read a Unix socket's peer credentials (SO_PEERCRED), so
// the client proves its OS user through the file system: it writes a small file into the admin folder whose content
// binds it to this one request, and the kernel records the file's owner. The folder is sticky (1770), so nobody can
// plant or swap another user's file, and the agent (its owner) removes each proof after reading it.
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, fstatSync, lstatSync, openSync, readFileSync, readSync, unlinkSync, writeFileSync, constants } from 'node:fs';
import { join } from 'node:path';
import { adminDir } from './state-paths.ts';

export { adminDir, adminSocketPath } from './state-paths.ts';

export const PEER_HEADER = 'x-plantsync-peer';
const NAME = /^peer-[A-Za-z0-9_-]{22,64}$/;

const digest = (name: string, method: string, path: string, body: string) => createHash('sha256').update(`${name}\n${method}\n${path}\n${body}`).digest('hex');

/** Client side: writes a proof for this request; returns the header value and a cleanup for when the agent is gone. */
export function writeProof(stateDir: string, method: string, path: string, body: string): { header: string; remove: () => void } {
  const name = `peer-${randomBytes(18).toString('base64url')}`;
  const file = join(adminDir(stateDir), name);
  writeFileSync(file, digest(name, method, path, body), { mode: 0o640, flag: 'wx' });
  return {
    header: name,
    remove: () => {
      try {
        unlinkSync(file);
      } catch {
        // the agent took it
      }
    },
  };
}

/**
 * Server side: the OS user who made the proof named in the request, or undefined when there is none or it does not
 * bind to this request (then a changing request is refused: the audit log must say who).
 */
export function verifyProof(stateDir: string, header: string | undefined, method: string, path: string, body: string): { uid: number; user: string } | undefined {
  if (!header || !NAME.test(header)) return undefined;
  const file = join(adminDir(stateDir), header);
  let fd: number | undefined;
  try {
    if (!lstatSync(file).isFile()) return undefined; // no symlinks, no devices
    fd = openSync(file, constants.O_RDONLY | constants.O_NOFOLLOW);
    const st = fstatSync(fd);
    if (st.size !== 64) return undefined;
    const buf = Buffer.alloc(64);
    readSync(fd, buf, 0, 64, 0);
    if (buf.toString() !== digest(header, method, path, body)) return undefined;
    return { uid: st.uid, user: userName(st.uid) };
  } catch {
    return undefined;
  } finally {
    if (fd !== undefined) closeSync(fd);
    try {
      unlinkSync(file);
    } catch {
      // not there, or not ours to remove
    }
  }
}

/** The login name of a uid from /etc/passwd, else "uid N". */
export function userName(uid: number): string {
  try {
    for (const line of readFileSync('/etc/passwd', 'utf8').split('\n')) {
      const [name, , id] = line.split(':');
      if (name && Number(id) === uid) return name;
    }
  } catch {
    // no passwd file (a container): the number says it
  }
  return `uid ${uid}`;
}
