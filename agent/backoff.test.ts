import { test } from 'node:test';
import assert from 'node:assert/strict';
import { reconnectDelay, retryDelay, defaultBackoff } from './backoff.ts';

test('backoff grows exponentially up to its cap, with full jitter below the ceiling', () => {
  const p = { baseMs: 100, capMs: 1000, maxRetryAfterMs: Infinity };
  assert.equal(retryDelay(p, 1, undefined, () => 0.999), 99);
  assert.equal(retryDelay(p, 3, undefined, () => 0.999), 399);
  assert.equal(retryDelay(p, 30, undefined, () => 0.999), 999, 'capped');
  assert.equal(retryDelay(p, 3, undefined, () => 0), 0, 'full jitter reaches down to zero');
});

test('a server-given Retry-After wins over backoff, up to the configured maximum (one hour by default, documented)', () => {
  assert.equal(retryDelay(defaultBackoff, 1, 1800_000), 1800_000, 'half an hour asked, half an hour waited');
  assert.equal(retryDelay(defaultBackoff, 1, 365 * 24 * 3600_000), 3600_000, 'a year asked: one hour');
  assert.equal(retryDelay({ ...defaultBackoff, maxRetryAfterMs: 4 * 3600_000 }, 1, 3 * 3600_000), 3 * 3600_000, 'a larger maximum when configured');
  assert.equal(retryDelay({ ...defaultBackoff, maxRetryAfterMs: 600_000 }, 1, 3 * 3600_000), 600_000, 'only a configured maximum caps it');
  assert.equal(retryDelay(defaultBackoff, 1, 0), 0);
});

test('reconnects use the same backoff: never below the minimum, growing to the maximum, jittered so gateways spread out', () => {
  assert.equal(reconnectDelay(1000, 30_000, 1, () => 0.999), 1000, 'the first attempt waits the minimum');
  assert.equal(reconnectDelay(1000, 30_000, 3, () => 0.999), 3996);
  assert.equal(reconnectDelay(1000, 30_000, 40, () => 0.999), 29_970, 'capped at the maximum');
  assert.equal(reconnectDelay(1000, 30_000, 5, () => 0), 1000, 'jitter never goes below the minimum');
  const spread = new Set(Array.from({ length: 50 }, () => reconnectDelay(1000, 30_000, 6)));
  assert.ok(spread.size > 10, 'fifty gateways that lost the same broker do not come back in one instant');
});
