// Mapping rules, compiled once when the config loads: a source message becomes canonical event drafts, or a
// rejection with a reason. Rules are tried in order and the first whose source, topic and predicates match wins.
// The scope of every expression: payload (the decoded message), topic (named segments), props (protocol
// metadata, e.g. MQTT 5 user properties), source ({adapter, id}), address (topic or node id).
import type { EventDraft } from '../events.ts';
import { compileExpr, compilePath, MappingError, unitFactor, type Expr, type Scope } from './expr.ts';
import { compileTemplate } from '../template.ts';
import type { Emit, Field, MappingRule, Predicate } from './schema.ts';
import { compileTopic, type TopicMatcher } from './topic.ts';

export { MappingError } from './expr.ts';

export interface SourceMessage {
  source: { adapter: string; id: string };
  /** Topic, node id or other address the message came from. */
  address: string;
  /** The decoded payload (JSON value, text or number). */
  payload: unknown;
  properties?: Record<string, unknown> | undefined;
  receivedAt: Date;
  /** The message's original bytes, where it had any: a rejected record keeps these, not a re-serialized value. */
  raw?: Buffer | undefined;
}

export type MapResult = { ok: true; rule: string; drafts: EventDraft[] } | { ok: false; reason: string };

interface CompiledRule {
  name: string;
  source: string | undefined;
  topic: TopicMatcher | undefined;
  when: ((s: Scope) => boolean)[];
  emit: ((s: Scope, msg: SourceMessage) => EventDraft)[];
}

export class Mapper {
  private readonly rules: CompiledRule[];

  /** Throws MappingError naming the rule and field when a rule cannot be compiled. */
  constructor(rules: MappingRule[], defaults: { plant: string }, where = '/mappings') {
    this.rules = rules.map((r, i) => compileRule(r, defaults.plant, `${where}/${i}`));
  }

  map(msg: SourceMessage): MapResult {
    for (const r of this.rules) {
      if (r.source !== undefined && r.source !== msg.source.id) continue;
      const topic = r.topic ? r.topic(msg.address) : {};
      if (!topic) continue;
      const scope: Scope = { payload: msg.payload, topic, props: msg.properties ?? {}, source: msg.source, address: msg.address };
      let matched: boolean;
      try {
        matched = r.when.every((p) => p(scope));
      } catch {
        matched = false;
      }
      if (!matched) continue;
      try {
        return { ok: true, rule: r.name, drafts: r.emit.map((e) => e(scope, msg)) };
      } catch (err) {
        return { ok: false, reason: `mapping '${r.name}': ${(err as Error).message}` };
      }
    }
    return { ok: false, reason: `no mapping rule matches source '${msg.source.id}' address '${msg.address}'` };
  }
}

function compileRule(r: MappingRule, plant: string, where: string): CompiledRule {
  return {
    name: r.name,
    source: r.source,
    topic: r.topic ? compileTopic(r.topic, `${where}/topic`) : undefined,
    when: (r.when ?? []).map((p, i) => compilePredicate(p, `${where}/when/${i}`)),
    emit: r.emit.map((e, i) => compileEmit(e, plant, `${where}/emit/${i}`)),
  };
}

function compilePredicate(p: Predicate, where: string): (s: Scope) => boolean {
  const get = compilePath(p.path);
  const tests: ((v: unknown) => boolean)[] = [];
  if (p.equals !== undefined) tests.push((v) => v === p.equals);
  if (p.notEquals !== undefined) tests.push((v) => v !== p.notEquals);
  if (p.in !== undefined) tests.push((v) => (p.in as unknown[]).includes(v));
  if (p.exists !== undefined) tests.push((v) => (v !== undefined && v !== null) === p.exists);
  if (p.gt !== undefined) tests.push((v) => typeof v === 'number' && v > p.gt!);
  if (p.lt !== undefined) tests.push((v) => typeof v === 'number' && v < p.lt!);
  if (tests.length === 0) throw new MappingError(`${where}: a predicate needs equals, notEquals, in, exists, gt or lt`);
  return (s) => {
    const v = get(s);
    return tests.every((t) => t(v));
  };
}

function compileField(f: Field, where: string): Expr {
  if (typeof f === 'number' || typeof f === 'boolean') return () => f;
  if (typeof f === 'string') return compileTemplate(f, where);
  const e = compileExpr(f.expr, where);
  const factor = f.unit ? unitFactor(f.unit.from, f.unit.to, where) : 1;
  const scale = f.round !== undefined ? 10 ** f.round : undefined;
  return (s) => {
    const v = e(s);
    if (typeof v !== 'number') {
      if (f.unit || scale) throw new MappingError(`${where}: '${f.expr}' is ${v === undefined ? 'missing' : 'not a number'}`);
      return v;
    }
    const x = v * factor;
    return scale ? Math.round(x * scale) / scale : x;
  };
}

function requiredText(e: Expr, what: string): (s: Scope) => string {
  return (s) => {
    const v = e(s);
    if (v === undefined || v === null || v === '') throw new MappingError(`${what} is missing`);
    return String(v);
  };
}

function compileEmit(e: Emit, plant: string, where: string): (s: Scope, msg: SourceMessage) => EventDraft {
  const key = requiredText(compileTemplate(e.key, `${where}/key`), `${where}/key`);
  const orderingKey = requiredText(compileTemplate(e.orderingKey, `${where}/orderingKey`), `${where}/orderingKey`);
  const occurredAt = e.occurredAt ? compileExpr(e.occurredAt, `${where}/occurredAt`) : undefined;
  const optional = (t: string | undefined, name: string) => (t === undefined ? undefined : compileTemplate(t, `${where}/${name}`));
  const correlationId = optional(e.correlationId, 'correlationId');
  const plantOf = optional(e.plant, 'plant');
  const line = optional(e.line, 'line');
  const workCenter = optional(e.workCenter, 'workCenter');
  const fields = Object.entries(e.payload).map(([k, f]) => [k, compileField(f, `${where}/payload/${k}`)] as const);
  return (s, msg) => {
    const payload: Record<string, unknown> = {};
    for (const [k, f] of fields) {
      const v = f(s);
      if (v !== undefined) payload[k] = v;
    }
    let at: Date | string | number = msg.receivedAt;
    if (occurredAt) {
      const v = occurredAt(s);
      if (v === undefined || v === null) throw new MappingError(`${where}/occurredAt: '${e.occurredAt}' is missing`);
      at = v as string | number;
    }
    const draft: EventDraft = {
      type: e.type,
      key: key(s),
      orderingKey: orderingKey(s),
      plant: plantOf ? String(plantOf(s)) : plant,
      occurredAt: at,
      source: { adapter: msg.source.adapter, id: msg.source.id, address: msg.address },
      payload,
    };
    if (correlationId) draft.correlationId = String(correlationId(s));
    if (line) draft.line = String(line(s));
    if (workCenter) draft.workCenter = String(workCenter(s));
    if (e.priority) draft.priority = e.priority;
    return draft;
  };
}
