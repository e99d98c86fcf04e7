// The one template engine, for mapping rules (keys, texts) and sinks (request URLs and bodies): "{{expr}}" and
// "{{expr | filter}}", where expr is the mapping's expression language (paths, numbers, quoted text, + - * /;
// agent/mapping/expr.ts). Compiled once into closures, never interpreted per event.
//   - a string that is one placeholder keeps the value's type (a number stays a number);
//   - inside a longer string values are interpolated, and a missing value is an error naming the template;
//   - a JSON template (a request body) is walked: objects and arrays keep their shape, a lone placeholder with no
//     value becomes null.
// Filters: string, number, upper, lower, sapDate (OData v2 "/Date(ms)/"), flag (true -> "X", false -> "").
import { compileExpr, MappingError, type Expr } from './mapping/expr.ts';

export type { Expr, Scope } from './mapping/expr.ts';

const FILTERS: Record<string, (v: unknown) => unknown> = {
  string: (v) => (v === undefined || v === null ? '' : String(v)),
  number: (v) => Number(v),
  upper: (v) => String(v ?? '').toUpperCase(),
  lower: (v) => String(v ?? '').toLowerCase(),
  sapDate: (v) => `/Date(${new Date(String(v)).getTime()})/`,
  flag: (v) => (v === true ? 'X' : ''),
};

const PLACEHOLDER = /\{\{([^}]+)\}\}/g;
const WHOLE = /^\{\{([^}]+)\}\}$/;

export interface TemplateOptions {
  /** Applied to each interpolated value (URL templates use encodeURIComponent). */
  encode?: (s: string) => string;
  /** What the template reads, for the error when a value is missing ("message", "event"). */
  subject?: string;
  /** The result is always text (a URL): a lone placeholder is interpolated too, and must have a value. */
  asText?: boolean;
}

/** One placeholder's inside: an expression, optionally "| filter" at its end. */
function compilePlaceholder(inside: string, where: string): Expr {
  const m = /^(.*?)\|\s*(\w+)\s*$/s.exec(inside);
  const e = compileExpr(m ? m[1]! : inside, where);
  if (!m) return e;
  const f = FILTERS[m[2]!];
  if (!f) throw new MappingError(`${where}: unknown filter '${m[2]}' (known: ${Object.keys(FILTERS).join(', ')})`);
  return (s) => f(e(s));
}

/** A string template; a lone placeholder keeps its value's type (undefined when missing). */
export function compileTemplate(template: string, where: string, opts: TemplateOptions = {}): Expr {
  const whole = opts.asText ? null : WHOLE.exec(template);
  if (whole) return compilePlaceholder(whole[1]!, where);
  const parts: (string | Expr)[] = [];
  let last = 0;
  for (const m of template.matchAll(PLACEHOLDER)) {
    parts.push(template.slice(last, m.index));
    parts.push(compilePlaceholder(m[1]!, where));
    last = m.index + m[0].length;
  }
  parts.push(template.slice(last));
  if (parts.length === 1) return () => template;
  const encode = opts.encode ?? String;
  const subject = opts.subject ?? 'message';
  return (scope) => {
    let out = '';
    for (const p of parts) {
      if (typeof p === 'string') out += p;
      else {
        const v = p(scope);
        if (v === undefined || v === null) throw new MappingError(`${where}: '${template}' needs a value that the ${subject} does not have`);
        out += encode(String(v));
      }
    }
    return out;
  };
}

/** A JSON template (a request body): objects and arrays are walked, strings may hold placeholders. */
export function compileJsonTemplate(template: unknown, where: string, opts: TemplateOptions = {}): Expr {
  if (typeof template === 'string') {
    const t = compileTemplate(template, where, opts);
    return WHOLE.test(template) ? (s) => t(s) ?? null : t;
  }
  if (Array.isArray(template)) {
    const items = template.map((t, i) => compileJsonTemplate(t, `${where}/${i}`, opts));
    return (s) => items.map((f) => f(s));
  }
  if (template !== null && typeof template === 'object') {
    const fields = Object.entries(template).map(([k, t]) => [k, compileJsonTemplate(t, `${where}/${k}`, opts)] as const);
    return (s) => Object.fromEntries(fields.map(([k, f]) => [k, f(s)]));
  }
  return () => template;
}
