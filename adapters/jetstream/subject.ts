// Subjects and partitions. Every event of an ordering key goes to one partition (a hash of the key), and the
// partition is a token of its subject: a relay consumes whole partitions, so a key's events reach one relay, in
// the order the stream stored them. The hash must never change: gateways and relays of a fleet compute it alike.
import { hash } from 'node:crypto';

/** The partition of an ordering key: the first 32 bits of its SHA-256, modulo the fleet's partition count. */
export function partitionOf(orderingKey: string, partitions: number): number {
  return Buffer.from(hash('sha256', orderingKey, 'hex').slice(0, 8), 'hex').readUInt32BE(0) % partitions;
}

/** A value as one subject token: the separators and wildcards of NATS subjects (". * >" and spaces) become "_". */
export function token(value: unknown): string {
  const s = value === undefined || value === null || value === '' ? '-' : String(value);
  return s.replace(/[.*>\s]/g, '_');
}

const PLACEHOLDER = /\{\{\s*(\w+)\s*\}\}/g;
const FIELDS = ['plant', 'line', 'type', 'partition', 'source'] as const;
type Field = (typeof FIELDS)[number];

/** Compiles a subject template ("plantsync.{{plant}}.{{partition}}"); unknown placeholders are an error naming them. */
export function subjectTemplate(template: string, where: string): (v: Record<Field, unknown>) => string {
  for (const m of template.matchAll(PLACEHOLDER)) {
    if (!(FIELDS as readonly string[]).includes(m[1]!)) throw new Error(`${where}: unknown placeholder {{${m[1]}}} (known: ${FIELDS.join(', ')})`);
  }
  return (v) => template.replace(PLACEHOLDER, (_, f: Field) => token(v[f]));
}
