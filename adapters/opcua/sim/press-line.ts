// A simulated press line as an OPC UA server (node-opcua-server): what `plantsync opcua-sim` runs, and what the
// tests and the demo connect to. One press with machine state, parts and scrap counters, the current order /
// operation / material / lot, a quality-hold bit, and a data-ready / data-ack handshake pair (the PLC raises
// data-ready with a record in its data block and holds it until the agent writes data-ack). It can run a shift on
// its own (parts while RUNNING, scrap now and then, downtimes, order changes, a hold), or be driven step by step.
import type { INamespaceDataAccess, UAVariable } from 'node-opcua-address-space';
import { OPCUACertificateManager } from 'node-opcua-certificate-manager';
import { DataType, MessageSecurityMode, SecurityPolicy, StatusCodes, type DataValue } from 'node-opcua-client';
import { OPCUAServer } from 'node-opcua-server';

export interface SimOptions {
  /** 0: any free port. */
  port?: number;
  /** Where the server keeps its certificate and the clients it has seen (created if missing). */
  pkiDir: string;
  /** Security modes offered (default: all three). */
  securityModes?: ('None' | 'Sign' | 'SignAndEncrypt')[];
  /** Users accepted with username/password; anonymous access is allowed unless `allowAnonymous` is false. */
  users?: Record<string, string>;
  allowAnonymous?: boolean;
  /** Run a shift on its own: one step per tick (ms). */
  tickMs?: number;
  /** Values to start with (a PLC keeps its counters across a restart of its OPC UA server). */
  initial?: Partial<Record<SimVariable, string | number | boolean>>;
}

/** The press's variables: name -> [browse name, OPC UA data type, initial value, writable]. */
const VARIABLES = {
  state: ['State', DataType.String, 'RUNNING', false],
  parts: ['Parts', DataType.UInt32, 0, false],
  scrap: ['Scrap', DataType.UInt32, 0, false],
  order: ['Order', DataType.String, '1000451', false],
  operation: ['Operation', DataType.String, '0010', false],
  material: ['Material', DataType.String, 'BRKT-4711', false],
  lot: ['Lot', DataType.String, 'L1000451', false],
  hold: ['QualityHold', DataType.Boolean, false, false],
  temperature: ['OilTemperature', DataType.Double, 42.0, false],
  dataReady: ['DataReady', DataType.Boolean, false, false],
  dataAck: ['DataAck', DataType.Boolean, false, true],
} as const;
export type SimVariable = keyof typeof VARIABLES;

export class PressLineSim {
  readonly server: OPCUAServer;
  /** The node id of each variable, e.g. ns=1;s=PRESS-01.Parts. */
  readonly nodeIds = {} as Record<SimVariable, string>;
  /** Handshakes the agent completed (data-ack writes while data-ready was up). */
  acks = 0;
  private readonly vars = {} as Record<SimVariable, UAVariable>;
  private timer: NodeJS.Timeout | undefined;
  private step = 0;

  private constructor(server: OPCUAServer) {
    this.server = server;
  }

  static async start(o: SimOptions): Promise<PressLineSim> {
    const modes = o.securityModes ?? ['None', 'Sign', 'SignAndEncrypt'];
    const serverCertificateManager = new OPCUACertificateManager({ rootFolder: o.pkiDir, automaticallyAcceptUnknownCertificate: true });
    const server = new OPCUAServer({
      port: o.port ?? 0,
      resourcePath: '/UA/PressLine',
      buildInfo: { productName: 'plantsync press-line simulator', manufacturerName: 'plantsync' },
      serverCertificateManager,
      securityModes: modes.map((m) => MessageSecurityMode[m]),
      securityPolicies: modes.includes('None') && modes.length === 1
        ? [SecurityPolicy.None]
        : [SecurityPolicy.None, SecurityPolicy.Basic256Sha256, SecurityPolicy.Aes128_Sha256_RsaOaep, SecurityPolicy.Aes256_Sha256_RsaPss],
      allowAnonymous: o.allowAnonymous ?? true,
      userManager: { isValidUser: (user: string, password: string) => o.users?.[user] === password },
      // X.509 user certificates: the simulator accepts any whose holder proves the key (a PLC would check a list).
      userCertificateManager: new OPCUACertificateManager({ rootFolder: `${o.pkiDir}/users`, automaticallyAcceptUnknownCertificate: true }),
      alternateHostname: ['127.0.0.1'],
    });
    await server.initialize();
    const sim = new PressLineSim(server);
    sim.build();
    for (const [k, v] of Object.entries(o.initial ?? {})) sim.set(k as SimVariable, v);
    await server.start();
    if (o.tickMs) sim.runShift(o.tickMs);
    return sim;
  }

  get endpoint(): string {
    return `opc.tcp://127.0.0.1:${this.port}/UA/PressLine`;
  }

  get port(): number {
    return this.server.endpoints[0]!.port;
  }

  /** Every variable's current value (to start a new server where this one stopped). */
  snapshot(): Record<SimVariable, string | number | boolean> {
    return Object.fromEntries(Object.keys(VARIABLES).map((k) => [k, this.get(k as SimVariable)])) as Record<SimVariable, string | number | boolean>;
  }

  get serverUri(): string {
    return this.server.serverInfo.applicationUri ?? '';
  }

  get(name: SimVariable): unknown {
    return this.vars[name].readValue().value.value;
  }

  /** Sets a variable as the PLC would, stamped with the current time as its source timestamp. */
  set(name: SimVariable, value: string | number | boolean): void {
    this.vars[name].setValueFromSource({ dataType: VARIABLES[name][1], value }, StatusCodes.Good, new Date());
  }

  addParts(n: number, scrap = 0): void {
    this.set('parts', ((this.get('parts') as number) + n) % 2 ** 32);
    if (scrap) this.set('scrap', (this.get('scrap') as number) + scrap);
  }

  /** Raises an OPC UA event on the Server object, as a PLC's alarm would (severity 1-1000). */
  raiseAlarm(message: string, severity: number): void {
    const addressSpace = this.server.engine.addressSpace!;
    addressSpace.rootFolder.objects.server.raiseEvent('BaseEventType', {
      sourceName: { dataType: DataType.String, value: 'PRESS-01' },
      message: { dataType: DataType.LocalizedText, value: { text: message } },
      severity: { dataType: DataType.UInt16, value: severity },
    });
  }

  /** The PLC's side of the handshake: fills the data block and raises data-ready. */
  raiseDataReady(record: Partial<Record<'order' | 'operation' | 'material' | 'lot', string>>): void {
    for (const [k, v] of Object.entries(record)) this.set(k as SimVariable, v);
    this.set('dataReady', true);
  }

  /** Runs the shift on its own, one step every `tickMs`, until stopShift(). */
  runShift(tickMs: number): void {
    clearInterval(this.timer);
    this.timer = setInterval(() => this.tick(), tickMs);
  }

  stopShift(): void {
    clearInterval(this.timer);
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.server.shutdown(0);
  }

  /** One step of the shift: parts while running, scrap now and then, a downtime, an order change, a hold. */
  tick(): void {
    const s = ++this.step;
    const state = this.get('state');
    if (state === 'RUNNING') this.addParts(1, s % 25 === 0 ? 1 : 0);
    if (s % 120 === 100) this.set('state', 'DOWN');
    if (s % 120 === 115) this.set('state', 'RUNNING');
    if (s % 300 === 0) {
      const order = String(Number(this.get('order')) + 1);
      this.raiseDataReady({ order, lot: `L${order}` });
    }
    if (s % 500 === 250) this.set('hold', true);
    if (s % 500 === 300) this.set('hold', false);
    this.set('temperature', 42 + 10 * Math.sin(s / 20));
  }

  private build(): void {
    const addressSpace = this.server.engine.addressSpace!;
    const ns = addressSpace.getOwnNamespace();
    const line = ns.addObject({ organizedBy: addressSpace.rootFolder.objects, browseName: 'PressLine' });
    const press = ns.addObject({ componentOf: line, browseName: 'PRESS-01' });
    for (const [name, [browseName, dataType, value, writable]] of Object.entries(VARIABLES) as [SimVariable, (typeof VARIABLES)[SimVariable]][]) {
      const nodeId = `s=PRESS-01.${browseName}`;
      // The oil temperature is an AnalogItem with an engineering range (0-100 C), so a percent deadband applies.
      const analog = name === 'temperature';
      const v = analog
        ? ((ns as unknown as INamespaceDataAccess).addAnalogDataItem({ componentOf: press, browseName, nodeId, dataType: 'Double', engineeringUnitsRange: { low: 0, high: 100 }, minimumSamplingInterval: 10 }) as unknown as UAVariable)
        : ns.addVariable({
        componentOf: press,
        browseName,
        nodeId,
        dataType: DataType[dataType],
        minimumSamplingInterval: 10,
        accessLevel: writable ? 'CurrentRead | CurrentWrite' : 'CurrentRead',
        userAccessLevel: writable ? 'CurrentRead | CurrentWrite' : 'CurrentRead',
      });
      v.setValueFromSource({ dataType, value }, StatusCodes.Good, new Date());
      this.vars[name] = v;
      this.nodeIds[name] = `ns=${ns.index};${nodeId}`;
    }
    // The PLC side of the handshake: an ack while data-ready is up completes it; the PLC then lowers both.
    this.vars.dataAck.on('value_changed', (dv: DataValue) => {
      if (dv.value.value !== true || this.get('dataReady') !== true) return;
      this.acks++;
      setImmediate(() => {
        this.set('dataReady', false);
        this.set('dataAck', false);
      });
    });
  }
}
