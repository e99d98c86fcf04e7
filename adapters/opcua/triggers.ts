// Triggers: when a node's new value becomes a record. Pure functions of (trigger, the node's last state, the new
// reading), so every case is tested without a server, and the state is what the source commits with the records
// it produced (a restart continues from exactly there). The caller drops readings whose source timestamp is not
// newer than the state's (republished or re-read values), so each reading is seen once, in source-time order.
import type { Trigger } from './config.ts';

export interface NodeState {
  value: unknown;
  /** Source timestamp (epoch ms) of the reading this state came from. */
  ts: number;
  /** When the node entered its current value (transitions measure durations from here). */
  since: number;
  /** Threshold triggers: may fire again (the value came back past the hysteresis). */
  armedAbove?: boolean;
  armedBelow?: boolean;
}

export interface Reading {
  value: unknown;
  ts: number;
}

export interface Evaluation {
  /** The record's trigger fields, when the trigger fired. */
  fired?: Record<string, unknown>;
  /** What the trigger cannot account for (becomes a source.gap event). */
  gap?: { reason: string; lastValue?: number; value?: number };
  next: NodeState;
}

/** A PLC signal that is set: true, a non-zero number, or the text "true" / "1". One rule for edges and handshakes. */
export const truthy = (v: unknown): boolean => v === true || (typeof v === 'number' && v !== 0) || v === 'true' || v === '1';
const same = (a: unknown, b: unknown) => a === b || (Number.isNaN(a) && Number.isNaN(b));

export function evaluate(trigger: Trigger, prev: NodeState | undefined, r: Reading): Evaluation {
  const changed = !prev || !same(prev.value, r.value);
  const next: NodeState = { ...prev, value: r.value, ts: r.ts, since: prev && !changed ? prev.since : r.ts };
  if (!prev) return { next: initial(trigger, next) }; // the first reading is a baseline: there is nothing to compare
  switch (trigger.kind) {
    case 'change':
      return changed ? { fired: { value: r.value, previous: prev.value }, next } : { next };
    case 'rising':
    case 'falling': {
      const edge = trigger.kind === 'rising' ? !truthy(prev.value) && truthy(r.value) : truthy(prev.value) && !truthy(r.value);
      return edge ? { fired: { value: r.value, previous: prev.value }, next } : { next };
    }
    case 'transition': {
      if (!changed) return { next };
      const fromOk = !trigger.from || trigger.from.some((v) => same(v, prev.value));
      const toOk = !trigger.to || trigger.to.some((v) => same(v, r.value));
      if (!fromOk || !toOk) return { next };
      return { fired: { value: r.value, previous: prev.value, from: prev.value, to: r.value, enteredAt: new Date(r.ts).toISOString(), durationSec: (r.ts - prev.since) / 1000 }, next };
    }
    case 'counter':
      return counter(trigger, prev, r, next);
    case 'threshold':
      return threshold(trigger, r, next);
  }
}

function initial(trigger: Trigger, s: NodeState): NodeState {
  if (trigger.kind !== 'threshold' || typeof s.value !== 'number') return s;
  const h = trigger.hysteresis ?? 0;
  return { ...s, armedAbove: trigger.above === undefined ? undefined : s.value <= trigger.above - h, armedBelow: trigger.below === undefined ? undefined : s.value >= trigger.below + h };
}

function counter(t: Extract<Trigger, { kind: 'counter' }>, prev: NodeState, r: Reading, next: NodeState): Evaluation {
  const p = prev.value;
  const v = r.value;
  if (typeof v !== 'number' || !Number.isFinite(v)) return { next: { ...next, value: p } }; // not a count: keep the last one
  if (typeof p !== 'number') return { next };
  if (v === p) return { next };
  const fire = (delta: number, extra: Record<string, unknown> = {}) => ({ value: v, previous: p, delta, ...extra });
  if (v > p) {
    const delta = v - p;
    if (t.maxDelta !== undefined && delta > t.maxDelta) {
      return { gap: { reason: `counter stepped from ${p} to ${v}, more than maxDelta ${t.maxDelta}: not posted`, lastValue: p, value: v }, next };
    }
    return { fired: fire(delta), next };
  }
  if (t.rolloverAt !== undefined) {
    const delta = t.rolloverAt - p + v;
    if (t.maxDelta === undefined || delta <= t.maxDelta) return { fired: fire(delta, { rollover: true }), next };
  }
  // Down without a (plausible) rollover: the counter was reset. What it counted since the reset is known (v);
  // what it counted between the last reading and the reset is not.
  const gap = { reason: `counter went down from ${p} to ${v} without a rollover: a reset; parts between the last reading and the reset are unknown`, lastValue: p, value: v };
  return v > 0 ? { fired: fire(v, { reset: true }), gap, next } : { gap, next };
}

function threshold(t: Extract<Trigger, { kind: 'threshold' }>, r: Reading, next: NodeState): Evaluation {
  const v = r.value;
  if (typeof v !== 'number') return { next };
  const h = t.hysteresis ?? 0;
  let fired: Record<string, unknown> | undefined;
  const s = { ...next };
  if (t.above !== undefined) {
    if (s.armedAbove !== false && v > t.above) {
      fired = { value: v, direction: 'above', threshold: t.above };
      s.armedAbove = false;
    } else if (v <= t.above - h) s.armedAbove = true;
  }
  if (t.below !== undefined) {
    if (s.armedBelow !== false && v < t.below) {
      fired = { value: v, direction: 'below', threshold: t.below };
      s.armedBelow = false;
    } else if (v >= t.below + h) s.armedBelow = true;
  }
  return fired ? { fired, next: s } : { next: s };
}
