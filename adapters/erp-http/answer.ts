// Reading an ERP's answer without believing the wrong thing: bounded in size, of the expected content type, and
// per-event results matched to events by their idempotency key (an answer in another order must not dead-letter
// the event the ERP accepted and mark delivered the one it rejected).
import type { Getter } from '../../agent/adapter-kit.ts';

/**
 * Why a 2xx answer is not the ERP's (an HTML single-sign-on page from a proxy, a captive portal): undefined when its
 * content type is the expected one, or it has no body. `expected` '' accepts any.
 */
export function unexpectedType(contentType: string | undefined, body: string, expected: string): string | undefined {
  if (!expected || body.length === 0) return undefined;
  const got = (contentType ?? '').split(';')[0]!.trim().toLowerCase();
  if (got === expected.toLowerCase()) return undefined;
  return `answer is ${got || 'without a content type'}, not ${expected} (a proxy or login page?); sent again later`;
}

export type Matched<T> = { ok: true; items: (T | undefined)[] } | { ok: false; error: string };

/**
 * Pairs per-event results with events. By idempotency key (the default): the item whose `keyOf` equals the event's
 * key, wherever it stands; an event without one gets undefined (its result is unknown: it goes again, the ERP
 * de-duplicates). By position only when configured so, and only when the counts agree.
 */
export function matchItems<T>(list: T[], eventKeys: string[], by: 'key' | 'position', keyOf: Getter | undefined): Matched<T> {
  if (by === 'position') {
    if (list.length !== eventKeys.length) return { ok: false, error: `answer has ${list.length} results for ${eventKeys.length} events` };
    return { ok: true, items: list };
  }
  if (!keyOf) return { ok: false, error: 'response.itemKeyPath is needed to match results by idempotency key' };
  const byKey = new Map<string, T>();
  for (const item of list) {
    const k = keyOf(item);
    if (typeof k === 'string' && !byKey.has(k)) byKey.set(k, item);
  }
  if (byKey.size === 0 && list.length > 0) return { ok: false, error: 'answer items carry no idempotency key at response.itemKeyPath (or set response.matchItemsBy: position)' };
  return { ok: true, items: eventKeys.map((k) => byKey.get(k)) };
}
