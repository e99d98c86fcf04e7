// Operations on rejected records (input no rule could map, or whose events failed their schema) and on delivered
// events, as request shapes run the same way by the running agent (over its admin listener) and by the CLI on the
// spool file (when the agent is stopped): list, replay through the current mapping, drop; and re-sending events a
// sink already has (after an ERP restore). Changes need a reason, which goes into the audit log; a dry run shows
// what would happen, for a rejected replay even which records the current mapping would now turn into events.
import type { RejectedFilter, RejectedRecord } from '../spool/admin.ts';
import type { Spool } from '../spool/spool.ts';
import type { SpoolRecord } from '../spool/types.ts';
import { AdminRequestError } from './dlq-ops.ts';
import { buildEvent, toRecord, type CanonicalEvent } from './events.ts';
import { Mapper } from './mapping/mapper.ts';
import type { AgentConfig } from './config.ts';
import { sourceAdapters } from './registry.ts';
import type { Source } from './source.ts';

export interface RejectedRequest {
  action: 'list' | 'replay' | 'drop';
  filter: RejectedFilter;
  reason?: string;
  actor?: string;
  dryRun?: boolean;
}

/** A rejected record as people and scripts see it: the payload as text when it is UTF-8, else base64. */
export interface RejectedView {
  id: number;
  at: string;
  source: string;
  address: string;
  reason: string;
  truncated: boolean;
  payload: string;
  payloadEncoding: 'utf8' | 'base64';
}

export interface RejectedResult {
  records?: RejectedView[];
  /** replay: records turned into events (dry: would be); drop: records removed (dry: would be). */
  count?: number;
  /** replay: records the current mapping still cannot turn into events, with why. */
  stillRejected?: { id: number; reason: string }[];
  /** replay and drop: how many records matched, and the last one's id (to page on with filter.afterId). */
  examined?: number;
  lastId?: number;
}

/** What re-mapping needs: the sources' decoders, the current mapping, the config version to stamp. */
export interface RemapContext {
  source(name: string): Source | undefined;
  sourceType(name: string): string | undefined;
  mapper: Mapper;
  configVersion: string;
}

/** For the CLI when the agent is stopped: the configured sources (created, not started: only their decoders). */
export async function offlineRemapContext(cfg: AgentConfig, configVersion: string): Promise<RemapContext> {
  const made = new Map<string, Source>();
  for (const [name, sc] of Object.entries(cfg.sources ?? {})) made.set(name, await sourceAdapters.get(sc.type)!.create(name, sc, undefined));
  return {
    source: (name) => made.get(name),
    sourceType: (name) => cfg.sources?.[name]?.type,
    mapper: new Mapper(cfg.mappings ?? [], { plant: cfg.agent.plant }),
    configVersion,
  };
}

function view(r: RejectedRecord): RejectedView {
  const text = r.payload.toString('utf8');
  const utf8 = Buffer.from(text, 'utf8').equals(r.payload);
  return { id: r.id, at: new Date(r.at).toISOString(), source: r.source, address: r.address, reason: r.reason, truncated: r.truncated, payload: utf8 ? text : r.payload.toString('base64'), payloadEncoding: utf8 ? 'utf8' : 'base64' };
}

/** Decodes, maps and validates one record again: the events it would now become, or why not. */
function remap(rec: RejectedRecord, ctx: RemapContext): { ok: true; events: CanonicalEvent[] } | { ok: false; reason: string } {
  if (rec.truncated) return { ok: false, reason: 'only a truncated copy of the payload was kept' };
  const source = ctx.source(rec.source);
  if (!source?.redecode) return { ok: false, reason: `source '${rec.source}' is not configured (or cannot decode a stored payload)` };
  const decoded = source.redecode(rec.payload, rec.address);
  if (!decoded.ok) return decoded;
  const at = new Date(rec.at);
  const mapped = ctx.mapper.map({ source: { adapter: ctx.sourceType(rec.source) ?? 'unknown', id: rec.source }, address: rec.address, payload: decoded.value, receivedAt: at });
  if (!mapped.ok) return mapped;
  const events: CanonicalEvent[] = [];
  for (const d of mapped.drafts) {
    const b = buildEvent(d, ctx.configVersion, at);
    if (!b.ok) return { ok: false, reason: b.reason };
    events.push(b.event);
  }
  return { ok: true, events };
}

const needReason = (what: string, reason: string | undefined) => {
  if (!reason?.trim()) throw new AdminRequestError(`${what} needs a reason (--reason): it goes into the audit log`);
};

export async function runRejected(spool: Spool, ctx: RemapContext, r: RejectedRequest): Promise<RejectedResult> {
  if (r.action !== 'list' && r.action !== 'replay' && r.action !== 'drop') throw new AdminRequestError(`unknown rejected action '${String(r.action)}' (list, replay, drop)`);
  const all = { ...r.filter, limit: r.filter.limit ?? 1_000_000 };
  if (r.action === 'list') return { records: spool.admin.listRejected(r.filter).map(view) };
  if (!r.dryRun) needReason(`rejected ${r.action}`, r.reason);
  const actor = r.actor ?? 'unknown';
  const records = spool.admin.listRejected(all);
  const paging = { examined: records.length, ...(records.length && { lastId: records.at(-1)!.id }) };
  if (r.action === 'drop') {
    if (r.dryRun) return { records: records.map(view), count: records.length, ...paging };
    return { count: records.length ? spool.admin.removeRejected(records.map((x) => x.id), actor, r.reason!, 'rejected.drop') : 0, ...paging };
  }
  const still: { id: number; reason: string }[] = [];
  const done: number[] = [];
  const events: SpoolRecord[] = [];
  for (const rec of records) {
    const m = remap(rec, ctx);
    if (!m.ok) still.push({ id: rec.id, reason: m.reason });
    else (done.push(rec.id), events.push(...m.events.map(toRecord)));
  }
  // The records go only once their events are durable (one append for all: a duplicate key is harmless).
  if (done.length && !r.dryRun) {
    await spool.append(events);
    spool.admin.removeRejected(done, actor, r.reason!, 'rejected.replay');
  }
  return { count: done.length, stillRejected: still, ...paging };
}

export interface ReplayRequest {
  sink: string;
  /** occurredAt from (epoch ms, inclusive) and until (exclusive; default: now). */
  since: number;
  until?: number;
  type?: string;
  reason?: string;
  actor?: string;
  dryRun?: boolean;
}

/** Re-sends events a sink already delivered, under their own idempotency keys; events it still owes stay as they are. */
export function runReplay(spool: Spool, r: ReplayRequest): { count: number } {
  if (!spool.sinkNames().includes(r.sink)) throw new AdminRequestError(`no sink '${r.sink}' in the spool (known: ${spool.sinkNames().join(', ') || 'none'})`);
  if (!Number.isFinite(r.since)) throw new AdminRequestError('replay needs --since');
  if (!r.dryRun) needReason('replay', r.reason);
  const until = r.until ?? Date.now();
  return { count: spool.admin.requeueDelivered(r.sink, r.since, until, r.type, r.actor ?? 'unknown', r.reason!, r.dryRun ?? false) };
}
