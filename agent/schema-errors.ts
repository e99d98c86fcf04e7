// Turns validator errors into one line a person can act on: the most specific JSON path and what is wrong there.

interface ValidationError {
  keyword: string;
  instancePath: string;
  message: string;
  params: object;
}

export function describeFirstError(errors: ValidationError[], prefix = ''): string {
  if (errors.length === 0) return `${prefix || '/'}: invalid`;
  // The deepest path is the most specific: "/routes/0/types/0" says more than "/routes/0/types".
  const e = errors.reduce((best, x) => (x.instancePath.length > best.instancePath.length ? x : best), errors[0]!);
  const path = `${prefix}${e.instancePath}` || '/';
  if (e.keyword === 'boolean' || e.message === 'schema is false') return `${path}: unknown field`;
  if (e.keyword === 'additionalProperties') {
    const extra = (e.params as { additionalProperties?: string[] }).additionalProperties ?? [];
    return `${path}: unknown field${extra.length > 1 ? 's' : ''} ${extra.join(', ')}`;
  }
  return `${path}: ${e.message}`;
}
