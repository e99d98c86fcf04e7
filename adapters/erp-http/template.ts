// URL and body templates over canonical events, compiled once when the sink starts, not interpreted per event.
// "{{payload.order}}" alone keeps the value's JSON type; inside a longer string it is interpolated. Filters:
// string, number, upper, lower, sapDate (OData v2 "/Date(ms)/"), flag (true -> "X", false -> "").
import { compilePath, type Getter } from '../../agent/adapter-kit.ts';

type Filter = (v: unknown) => unknown;

const FILTERS: Record<string, Filter> = {
  string: (v) => (v === undefined || v === null ? '' : String(v)),
  number: (v) => Number(v),
  upper: (v) => String(v ?? '').toUpperCase(),
  lower: (v) => String(v ?? '').toLowerCase(),
  sapDate: (v) => `/Date(${new Date(String(v)).getTime()})/`,
  flag: (v) => (v === true ? 'X' : ''),
};

const PLACEHOLDER = /\{\{\s*([^}|\s]+)\s*(?:\|\s*(\w+)\s*)?\}\}/g;

export class TemplateError extends Error {
  override readonly name = 'TemplateError';
}

function compileExpr(path: string, filter: string | undefined, where: string): Getter {
  const get = compilePath(path);
  if (!filter) return get;
  const f = FILTERS[filter];
  if (!f) throw new TemplateError(`${where}: unknown filter '${filter}' (known: ${Object.keys(FILTERS).join(', ')})`);
  return (v) => f(get(v));
}

/** A string template; `encode` applies to each substituted value (URL templates use encodeURIComponent). */
export function compileString(template: string, where: string, encode: (s: string) => string = (s) => s): (event: unknown) => string {
  const parts: (string | Getter)[] = [];
  let last = 0;
  for (const m of template.matchAll(PLACEHOLDER)) {
    parts.push(template.slice(last, m.index));
    parts.push(compileExpr(m[1]!, m[2], where));
    last = m.index + m[0].length;
  }
  parts.push(template.slice(last));
  return (event) => {
    let out = '';
    for (const p of parts) {
      if (typeof p === 'string') out += p;
      else {
        const v = p(event);
        if (v === undefined) throw new TemplateError(`${where}: the event has no value for a placeholder in '${template}'`);
        out += encode(String(v));
      }
    }
    return out;
  };
}

/** A JSON body template: objects and arrays are walked; strings may hold placeholders. */
export function compileBody(template: unknown, where: string): (event: unknown) => unknown {
  if (typeof template === 'string') {
    const whole = /^\{\{\s*([^}|\s]+)\s*(?:\|\s*(\w+)\s*)?\}\}$/.exec(template);
    if (whole) {
      const get = compileExpr(whole[1]!, whole[2], where);
      return (e) => get(e) ?? null;
    }
    if (!template.includes('{{')) return () => template;
    return compileString(template, where);
  }
  if (Array.isArray(template)) {
    const items = template.map((t, i) => compileBody(t, `${where}/${i}`));
    return (e) => items.map((f) => f(e));
  }
  if (template !== null && typeof template === 'object') {
    const fields = Object.entries(template).map(([k, t]) => [k, compileBody(t, `${where}/${k}`)] as const);
    return (e) => Object.fromEntries(fields.map(([k, f]) => [k, f(e)]));
  }
  return () => template;
}
