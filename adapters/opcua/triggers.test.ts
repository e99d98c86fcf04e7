// Every trigger kind, fed reading by reading as the source feeds them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Trigger } from './config.ts';
import { evaluate, type Evaluation, type NodeState } from './triggers.ts';

/** Feeds values one second apart; returns each evaluation. */
function feed(trigger: Trigger, values: unknown[], start?: NodeState): Evaluation[] {
  let state = start;
  return values.map((value, i) => {
    const e = evaluate(trigger, state, { value, ts: 1_800_000_000_000 + i * 1000 });
    state = e.next;
    return e;
  });
}
const fired = (es: Evaluation[]) => es.map((e) => e.fired);

test('change fires on every new value, not on the first reading or a repeat', () => {
  assert.deepEqual(fired(feed({ kind: 'change' }, ['PO1', 'PO1', 'PO2'])), [undefined, undefined, { value: 'PO2', previous: 'PO1' }]);
});

test('rising and falling fire on their edge only', () => {
  assert.deepEqual(fired(feed({ kind: 'rising' }, [false, true, true, false, true])).map(Boolean), [false, true, false, false, true]);
  assert.deepEqual(fired(feed({ kind: 'falling' }, [true, false, false, true, 0])).map(Boolean), [false, true, false, false, true]);
});

test('counter posts increments; a rollover is counted through the wrap; a reset posts what was counted since and raises a gap', () => {
  const plain = feed({ kind: 'counter' }, [100, 104, 104, 110]);
  assert.deepEqual(plain.map((e) => e.fired?.delta), [undefined, 4, undefined, 6]);
  const wrap = feed({ kind: 'counter', rolloverAt: 65536 }, [65530, 3]);
  assert.deepEqual(wrap[1]!.fired, { value: 3, previous: 65530, delta: 9, rollover: true });
  assert.equal(wrap[1]!.gap, undefined);
  const reset = feed({ kind: 'counter' }, [1520, 12]);
  assert.deepEqual(reset[1]!.fired, { value: 12, previous: 1520, delta: 12, reset: true });
  assert.match(reset[1]!.gap!.reason, /went down from 1520 to 12 without a rollover/);
  const toZero = feed({ kind: 'counter' }, [50, 0]);
  assert.equal(toZero[1]!.fired, undefined, 'nothing counted since a reset to 0');
  assert.ok(toZero[1]!.gap);
  // A wrap larger than plausible is a reset, not 65,000 parts.
  const implausible = feed({ kind: 'counter', rolloverAt: 65536, maxDelta: 1000 }, [200, 5]);
  assert.ok(implausible[1]!.fired?.reset && implausible[1]!.gap);
  const jump = feed({ kind: 'counter', maxDelta: 1000 }, [10, 90_000, 90_004]);
  assert.equal(jump[1]!.fired, undefined);
  assert.match(jump[1]!.gap!.reason, /more than maxDelta 1000: not posted/);
  assert.equal(jump[2]!.fired?.delta, 4, 'counting goes on from the new value');
  const junk = feed({ kind: 'counter' }, [10, 'n/a', 12]);
  assert.deepEqual(junk.map((e) => e.fired?.delta), [undefined, undefined, 2]);
});

test('transition fires with the time spent in the state it left, filtered by from and to', () => {
  const all = feed({ kind: 'transition' }, ['RUNNING', 'RUNNING', 'DOWN', 'DOWN', 'DOWN', 'RUNNING']);
  assert.deepEqual(all[2]!.fired, { value: 'DOWN', previous: 'RUNNING', from: 'RUNNING', to: 'DOWN', enteredAt: new Date(1_800_000_002_000).toISOString(), durationSec: 2 });
  assert.equal(all[5]!.fired?.durationSec, 3, 'DOWN lasted from the third reading to the sixth');
  const toDown = feed({ kind: 'transition', to: ['DOWN'] }, ['RUNNING', 'DOWN', 'IDLE', 'DOWN']);
  assert.deepEqual(toDown.map((e) => e.fired?.from), [undefined, 'RUNNING', undefined, 'IDLE']);
  const fromDown = feed({ kind: 'transition', from: ['DOWN'] }, ['DOWN', 'RUNNING']);
  assert.equal(fromDown[1]!.fired?.durationSec, 1);
});

test('threshold fires once per crossing and re-arms only past the hysteresis', () => {
  const t: Trigger = { kind: 'threshold', above: 90, hysteresis: 5 };
  assert.deepEqual(fired(feed(t, [80, 91, 95, 88, 92, 84, 93])).map((f) => f?.value), [undefined, 91, undefined, undefined, undefined, undefined, 93]);
  assert.deepEqual(fired(feed({ kind: 'threshold', below: 10 }, [12, 9, 8, 11, 7])).map((f) => f?.direction), [undefined, 'below', undefined, undefined, 'below']);
  assert.equal(feed(t, [95, 96])[1]!.fired, undefined, 'already above at the first reading: armed only after coming back');
});

test('a restart continues from the committed state: the first reading after it is compared, not taken as a baseline', () => {
  const before = feed({ kind: 'counter' }, [100, 120]);
  const committed = JSON.parse(JSON.stringify(before[1]!.next)) as NodeState;
  const after = evaluate({ kind: 'counter' }, committed, { value: 135, ts: committed.ts + 60_000 });
  assert.equal(after.fired?.delta, 15, 'increments made while the agent was down are posted');
});

test('one rule for a set PLC signal, for edges and handshakes alike: true, a non-zero number, "true" or "1"', async () => {
  const { truthy } = await import('./triggers.ts');
  assert.deepEqual([true, 1, -2, 'true', '1'].map(truthy), [true, true, true, true, true]);
  assert.deepEqual([false, 0, 'false', '0', '', null, undefined].map(truthy), [false, false, false, false, false, false, false]);
});
