// Field expressions for mapping rules, compiled once into closures (no eval): paths into the message
// (payload.counts.good, topic.line, props.shift, payload.items[0].qty), numbers, quoted strings, + - * / and
// parentheses. A path that is missing yields undefined; arithmetic on a missing or non-numeric value fails with a
// reason naming the path, which the caller turns into a rejected record.

export type Scope = Record<string, unknown>;
export type Expr = (scope: Scope) => unknown;
/** Reads a path out of any value (parsed JSON answers, message scopes). */
export type Getter = (value: unknown) => unknown;

export class MappingError extends Error {
  override readonly name = 'MappingError';
}

type Token = { kind: 'num'; value: number } | { kind: 'str'; value: string } | { kind: 'path'; value: string } | { kind: 'op'; value: string };

function tokenize(src: string, where: string): Token[] {
  const out: Token[] = [];
  const re = /\s*(?:(\d+(?:\.\d+)?(?:e[+-]?\d+)?)|'((?:[^'\\]|\\.)*)'|([A-Za-z_$][\w$]*(?:\.[\w$]+|\[\d+\]|\['[^']*'\])*)|([-+*/()]))/gy;
  let m: RegExpExecArray | null;
  let at = 0;
  while (at < src.length && (m = re.exec(src))) {
    at = re.lastIndex;
    if (m[1] !== undefined) out.push({ kind: 'num', value: Number(m[1]) });
    else if (m[2] !== undefined) out.push({ kind: 'str', value: m[2].replace(/\\(.)/g, '$1') });
    else if (m[3] !== undefined) out.push({ kind: 'path', value: m[3] });
    else out.push({ kind: 'op', value: m[4]! });
  }
  if (src.slice(at).trim()) throw new MappingError(`${where}: cannot read expression '${src}' at '${src.slice(at).trim()}'`);
  return out;
}

/** A path getter: "payload.items[0].qty" or "payload.metrics['Counter/Good']" (names with any characters). */
export function compilePath(path: string): Getter {
  const parts: string[] = [];
  for (const m of path.matchAll(/([^.[\]]+)|\[(\d+)\]|\['([^']*)'\]/g)) parts.push(m[1] ?? m[2] ?? m[3]!);
  return (value) => {
    let v: unknown = value;
    for (const p of parts) {
      if (v === null || typeof v !== 'object') return undefined;
      v = (v as Record<string, unknown>)[p];
    }
    return v;
  };
}

function num(v: unknown, what: string): number {
  const n = typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : NaN;
  if (!Number.isFinite(n)) throw new MappingError(`${what} is ${v === undefined ? 'missing' : `not a number (${JSON.stringify(v)})`}`);
  return n;
}

/** Compiles an expression; `where` names its place in the config for error messages. */
export function compileExpr(src: string, where: string): Expr {
  const tokens = tokenize(src, where);
  let i = 0;
  const peek = () => tokens[i];
  const describe = new Map<Expr, string>();

  const primary = (): Expr => {
    const t = tokens[i++];
    if (!t) throw new MappingError(`${where}: expression '${src}' ends too early`);
    if (t.kind === 'num' || t.kind === 'str') {
      const v = t.value;
      return () => v;
    }
    if (t.kind === 'path') {
      const f = compilePath(t.value);
      describe.set(f, t.value);
      return f;
    }
    if (t.value === '(') {
      const e = sum();
      if (peek()?.value !== ')') throw new MappingError(`${where}: missing ')' in '${src}'`);
      i++;
      return e;
    }
    if (t.value === '-') {
      const e = primary();
      const label = describe.get(e) ?? 'operand';
      return (s) => -num(e(s), label);
    }
    throw new MappingError(`${where}: unexpected '${t.value}' in '${src}'`);
  };
  const binary = (next: () => Expr, ops: string[]) => (): Expr => {
    let left = next();
    for (let t = peek(); t?.kind === 'op' && ops.includes(t.value); t = peek()) {
      const op = tokens[i++]!.value;
      const right = next();
      const l = left;
      const ln = describe.get(l) ?? 'left operand';
      const rn = describe.get(right) ?? 'right operand';
      left =
        op === '+' ? (s) => num(l(s), ln) + num(right(s), rn)
        : op === '-' ? (s) => num(l(s), ln) - num(right(s), rn)
        : op === '*' ? (s) => num(l(s), ln) * num(right(s), rn)
        : (s) => num(l(s), ln) / num(right(s), rn);
    }
    return left;
  };
  const product = binary(primary, ['*', '/']);
  const sum = binary(product, ['+', '-']);
  const e = sum();
  if (i < tokens.length) throw new MappingError(`${where}: unexpected '${tokens[i]!.value}' in '${src}'`);
  return e;
}

/** Unit conversion factors to a base unit per dimension; convert(v, from, to) multiplies through the base. */
const UNITS: Record<string, [dimension: string, toBase: number]> = {
  mg: ['mass', 1e-6], g: ['mass', 1e-3], kg: ['mass', 1], t: ['mass', 1000], lb: ['mass', 0.45359237],
  mm: ['length', 1e-3], cm: ['length', 1e-2], m: ['length', 1], km: ['length', 1000], in: ['length', 0.0254],
  ms: ['time', 1e-3], s: ['time', 1], min: ['time', 60], h: ['time', 3600],
  ml: ['volume', 1e-3], l: ['volume', 1], m3: ['volume', 1000],
};

export function unitFactor(from: string, to: string, where: string): number {
  const f = UNITS[from];
  const t = UNITS[to];
  if (!f || !t) throw new MappingError(`${where}: unknown unit '${!f ? from : to}' (known: ${Object.keys(UNITS).join(', ')})`);
  if (f[0] !== t[0]) throw new MappingError(`${where}: cannot convert ${f[0]} (${from}) to ${t[0]} (${to})`);
  return f[1] / t[1];
}
