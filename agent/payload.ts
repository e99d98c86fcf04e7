// What one message's payload may be, checked once for every source before mapping: nested no deeper than a
// configured depth, and numbers that identify something kept exact. Nothing here recurses, so a hostile payload
// (10,000 levels of brackets) costs one bounded loop, not a stack overflow that would stall the whole intake.

/** Default depth limit of a decoded payload (objects and arrays); config `limits.maxPayloadDepth`. */

/** How deep `value` nests, stopping as soon as it is deeper than `limit` (then returns limit + 1). Iterative. */
export function depthOf(value: unknown, limit: number): number {
  if (value === null || typeof value !== 'object') return 0;
  let max = 0;
  const stack: [unknown, number][] = [[value, 1]];
  while (stack.length) {
    const [v, d] = stack.pop()!;
    if (d > max) max = d;
    if (max > limit) return limit + 1;
    const children = Array.isArray(v) ? v : Object.values(v as object);
    for (const c of children) if (c !== null && typeof c === 'object' && !Buffer.isBuffer(c) && !(c instanceof Date)) stack.push([c, d + 1]);
  }
  return max;
}

// An integer literal of 16 or more digits may be beyond 2^53 (9007199254740991 has 16): only then is the slower,
// exact parse needed. A long digit run inside a string sends a message down the exact path too, which is harmless.
const LONG_DIGITS = /\d{16}/;

/**
 * JSON.parse, except that an integer JSON.parse would round (beyond +-2^53) comes back as a BigInt with its exact
 * digits. Two machine sequence numbers 2^53+1 and 2^53+2 must never become the same idempotency key; templates
 * print a BigInt's exact digits and the event body writes it back as the same JSON number (eventJson).
 * Throws SyntaxError like JSON.parse.
 */
export function parseJsonExact(text: string): unknown {
  if (!LONG_DIGITS.test(text)) return JSON.parse(text);
  return JSON.parse(text, (_key, v: unknown, ctx?: { source?: string }) => {
    if (typeof v !== 'number' || Number.isSafeInteger(v) || !ctx?.source || !/^-?\d+$/.test(ctx.source)) return v;
    return BigInt(ctx.source);
  });
}

/** Serializes an event body; exact BigInt digits are written as JSON numbers (JSON.rawJSON), never rounded. */
export function eventJson(value: unknown): string {
  try {
    return JSON.stringify(value);
  } catch (err) {
    if (!(err instanceof TypeError) || !/BigInt/i.test(err.message)) throw err;
    return JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? rawJson(v.toString()) : v));
  }
}

// JSON.rawJSON (Node >= 21) lets a replacer emit a number's exact text; typed here since lib.es2024 lacks it.
const rawJson = (JSON as unknown as { rawJSON(text: string): unknown }).rawJSON;

/**
 * A bounded text copy of a value for a rejected record, for input that has no original bytes (OPC UA values and
 * events): never throws, whatever the value is (cyclic, BigInt, too deep).
 */
export function copyForRejected(value: unknown, limit: number): string {
  if (typeof value === 'string') return value.slice(0, limit);
  try {
    return (eventJson(value) ?? String(value)).slice(0, limit);
  } catch (err) {
    return `(payload not copyable: ${(err as Error).message})`;
  }
}
