// Config schema of the memory sink: an in-process ERP stand-in for the demo and for tests.
import Type, { type Static } from 'typebox';

export const MemorySinkConfig = Type.Object(
  {
    type: Type.Literal('memory'),
    /** Simulated ERP answer time per batch. */
    latencyMs: Type.Optional(Type.Integer({ minimum: 0, maximum: 60_000, default: 0 })),
  },
  { additionalProperties: false },
);
export type MemorySinkConfig = Static<typeof MemorySinkConfig>;
