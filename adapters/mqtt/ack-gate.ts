// Acknowledge after commit, at full speed. mqtt.js reads the next packet only after a QoS 1/2 message's PUBACK
// (PUBREC) has been handed to its _sendPacket, so holding the ack until a commit would take in one message per
// commit (~64 messages/s measured here). The gate lets mqtt.js go on at once, keeps each ack packet, and sends the
// kept acks in arrival order (as MQTT requires) once the messages they answer are committed.
//
// Acks are matched to messages by arrival order, never by packet id: a broker may reuse an id while an earlier
// message with that id still waits (redelivery after a reconnect), and an ack sent by id could then answer a
// message that is not committed yet. mqtt.js hands over each ack before it reads the next packet, so the n-th kept
// ack answers the n-th message taken in. Acks of a connection that closed are dropped (the generation changes):
// the broker redelivers those messages and the spool recognises them.
import type { MqttClient, Packet } from 'mqtt';

type SendPacket = (packet: Packet, cb?: (err?: Error) => void, cbStorePut?: unknown, noStore?: boolean) => void;

export class AckGate {
  private queue: Packet[] = [];
  private readonly send: SendPacket;
  private readonly client: MqttClient;
  /** Changes whenever the connection closes: acks of an older generation no longer exist. */
  generation = 0;
  /** Acks sent so far, for status and tests. */
  sent = 0;

  constructor(client: MqttClient) {
    this.client = client;
    const c = client as unknown as { _sendPacket: SendPacket };
    this.send = c._sendPacket.bind(client);
    c._sendPacket = (packet, cb, cbStorePut, noStore) => {
      if (packet.cmd === 'puback' || packet.cmd === 'pubrec') {
        this.queue.push(packet);
        cb?.(); // lets mqtt.js read the next packet now; the ack itself waits for the commit
        return;
      }
      this.send(packet, cb, cbStorePut, noStore);
    };
    client.on('close', () => {
      this.queue = [];
      this.generation++;
    });
  }

  /** The next `count` messages (QoS 1/2, taken in during `generation`) are committed: send their acks, in order. */
  release(count: number, generation: number): void {
    if (generation !== this.generation || count === 0) return;
    for (const packet of this.queue.splice(0, count)) {
      if (!this.client.connected) continue;
      this.send(packet);
      this.sent++;
    }
  }

  get pending(): number {
    return this.queue.length;
  }
}
