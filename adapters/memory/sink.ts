// The memory sink hands batches to an in-process MemoryReceiver. The receiver already answers in outcomes, so
// this sink's classification is the identity; real sinks (erp-http) classify remote answers here.
import type { Batch, Outcome, Sink } from '../../agent/adapter-kit.ts';
import type { MemorySinkConfig } from './config.ts';
import { MemoryReceiver } from './receiver.ts';

export class MemorySink implements Sink {
  readonly name: string;
  readonly receiver: MemoryReceiver;

  constructor(name: string, config: MemorySinkConfig, receiver = new MemoryReceiver()) {
    this.name = name;
    this.receiver = receiver;
    this.receiver.latencyMs = config.latencyMs ?? 0;
  }

  async open(): Promise<void> {}

  deliver(batch: Batch, signal: AbortSignal): Promise<Outcome> {
    return this.receiver.receive(batch, signal);
  }

  async close(): Promise<void> {}
}
