// Dotted paths into parsed JSON ("d.ConfirmationGroup", "results.0.status"): compiled once per config.

export type Getter = (value: unknown) => unknown;

export function compilePath(path: string): Getter {
  const parts = path.split('.').filter(Boolean);
  return (value) => {
    let v: unknown = value;
    for (const p of parts) {
      if (v === null || typeof v !== 'object') return undefined;
      v = (v as Record<string, unknown>)[p];
    }
    return v;
  };
}
