// Settings that work but weaken security, said loudly at `config validate`, at start and in `status`: a plant's IT
// security review asks for exactly these. Each adapter names its own (SourceAdapter/SinkAdapter.warnings).
import type { AgentConfig } from './config.ts';
import { sinkAdapters, sourceAdapters } from './registry.ts';

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|localhost)$/i;

/** One line per weak setting, "<JSON path>: what and why". */
export function configWarnings(cfg: AgentConfig): string[] {
  const out: string[] = [];
  const admin = cfg.admin;
  if (admin.enabled && !LOOPBACK.test(admin.host)) {
    out.push(`/admin/host: the admin listener (/metrics, /status) listens on ${admin.host}, beyond loopback: guard the port with a firewall`);
  }
  for (const [name, sc] of Object.entries(cfg.sinks)) {
    for (const w of sinkAdapters.get(sc.type)?.warnings(sc) ?? []) out.push(`/sinks/${name}${w}`);
  }
  for (const [name, sc] of Object.entries(cfg.sources ?? {})) {
    for (const w of sourceAdapters.get(sc.type)?.warnings(sc) ?? []) out.push(`/sources/${name}${w}`);
  }
  return out;
}
