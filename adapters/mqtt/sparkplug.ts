// Sparkplug B payloads (protobuf, decoded with Eclipse Tahu's sparkplug-payload). Topics are
// spBv1.0/<group>/<NBIRTH|NDATA|DBIRTH|DDATA|...>/<edge node>[/<device>]. BIRTH messages declare metric names with
// aliases; DATA messages may carry only the alias, so the decoder remembers each node's and device's aliases and
// gives mappings metrics by name. 64-bit values (timestamps, seq, aliases) become numbers; a 64-bit metric value
// beyond 2^53 becomes a BigInt with its exact digits, so two counter readings never round to one identity.
import sparkplug from 'sparkplug-payload';
import type { Decoded } from './decode.ts';

const codec = sparkplug.get('spBv1.0')!;

type LongLike = { toNumber(): number } | number | undefined | null;

function num(v: unknown): number | undefined {
  if (v === undefined || v === null) return undefined;
  return typeof v === 'number' ? v : typeof (v as { toNumber?: unknown }).toNumber === 'function' ? (v as { toNumber(): number }).toNumber() : Number(v);
}

/** A metric's 64-bit value: a number where that is exact, else a BigInt (templates print its exact digits). */
function exact(v: { toNumber(): number; toString(): string }): number | bigint {
  const n = v.toNumber();
  return Number.isSafeInteger(n) ? n : BigInt(v.toString());
}

export interface SparkplugMessage {
  group: string;
  messageType: string;
  edgeNode: string;
  device: string | undefined;
  timestamp: number | undefined;
  seq: number | undefined;
  /** Metric values by name (aliases resolved). */
  metrics: Record<string, unknown>;
  /** Metric source timestamps by name, where the metric has one. */
  metricTimestamps: Record<string, number>;
  /** Metrics whose name could not be resolved from an alias (no BIRTH seen yet). */
  unknownAliases: number[];
}

export class SparkplugDecoder {
  private readonly aliases = new Map<string, Map<number, string>>();

  decode(topic: string, payload: Buffer): Decoded {
    const parts = topic.split('/');
    if (parts[0] !== 'spBv1.0' || parts.length < 4) return { ok: false, reason: `not a Sparkplug B topic: ${topic}` };
    const [, group, messageType, edgeNode, device] = parts as [string, string, string, string, string | undefined];
    let p;
    try {
      p = codec.decodePayload(payload);
    } catch (err) {
      return { ok: false, reason: `malformed Sparkplug B payload: ${(err as Error).message}` };
    }
    const scope = `${group}/${edgeNode}/${device ?? ''}`;
    if (messageType.endsWith('BIRTH')) this.aliases.set(scope, new Map());
    const table = this.aliases.get(scope);
    const out: SparkplugMessage = { group, messageType, edgeNode, device, timestamp: num(p.timestamp as LongLike), seq: num(p.seq as LongLike), metrics: {}, metricTimestamps: {}, unknownAliases: [] };
    for (const m of p.metrics ?? []) {
      const alias = num(m.alias as LongLike);
      let name = m.name ?? undefined;
      if (name && alias !== undefined && messageType.endsWith('BIRTH')) table?.set(alias, name);
      if (!name && alias !== undefined) name = table?.get(alias);
      if (!name) {
        if (alias !== undefined) out.unknownAliases.push(alias);
        continue;
      }
      const v = m.value as unknown;
      out.metrics[name] = typeof v === 'object' && v !== null && 'toNumber' in v ? exact(v as { toNumber(): number; toString(): string }) : v;
      const ts = num(m.timestamp as LongLike);
      if (ts !== undefined) out.metricTimestamps[name] = ts;
    }
    return { ok: true, value: out };
  }
}
