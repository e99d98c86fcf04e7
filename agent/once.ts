// A value made on first use and kept: compiled schema validators are the bulk of the heap typebox takes, and an
// agent (or a CLI verb) uses a few of the many it could, so none is compiled before it is needed.
export function once<T>(make: () => T): () => T {
  let value: T | undefined;
  return () => (value ??= make());
}
