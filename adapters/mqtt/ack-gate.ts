// Acknowledge after commit, at full speed. mqtt.js reads the next packet only after a QoS 1/2 message's PUBACK
// (PUBREC) has been handed to its _sendPacket, so holding the ack until a commit would take in one message per
// commit (~64 messages/s measured here). The gate lets mqtt.js go on at once, keeps each ack packet, and sends the
// kept acks in arrival order (as MQTT requires) once the messages before them are committed. Acks of a connection
// that closed are dropped: the broker redelivers those messages and the spool recognises them.
import type { MqttClient, Packet } from 'mqtt';

type SendPacket = (packet: Packet, cb?: (err?: Error) => void, cbStorePut?: unknown, noStore?: boolean) => void;

interface Held {
  messageId: number;
  packet: Packet;
  released: boolean;
}

export class AckGate {
  private queue: Held[] = [];
  private readonly send: SendPacket;
  private readonly client: MqttClient;
  /** Acks sent so far, for status and tests. */
  sent = 0;

  constructor(client: MqttClient) {
    this.client = client;
    const c = client as unknown as { _sendPacket: SendPacket };
    this.send = c._sendPacket.bind(client);
    c._sendPacket = (packet, cb, cbStorePut, noStore) => {
      if (packet.cmd === 'puback' || packet.cmd === 'pubrec') {
        this.queue.push({ messageId: (packet as { messageId: number }).messageId, packet, released: false });
        cb?.(); // lets mqtt.js read the next packet now; the ack itself waits for the commit
        return;
      }
      this.send(packet, cb, cbStorePut, noStore);
    };
    client.on('close', () => (this.queue = []));
  }

  /** The messages with these ids are committed: send every ack that is now first in line. */
  release(messageIds: Iterable<number>): void {
    const ids = new Set(messageIds);
    for (const h of this.queue) if (ids.has(h.messageId)) h.released = true;
    while (this.queue[0]?.released) {
      const h = this.queue.shift()!;
      if (this.client.connected) {
        this.send(h.packet);
        this.sent++;
      }
    }
  }

  get pending(): number {
    return this.queue.length;
  }
}
