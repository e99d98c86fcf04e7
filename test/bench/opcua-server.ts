// An OPC UA server in its own process for the OPC UA benchmark: N UInt32 counters (ns=1;s=C0 ... C{N-1}), each
// incremented every `periodMs`, stamped with the time of the change as its source timestamp.
//   node opcua-server.ts <counters> <periodMs> <pki dir>
// Prints "listening <endpoint>" when ready; runs until killed.
import { OPCUACertificateManager } from 'node-opcua-certificate-manager';
import { DataType, StatusCodes } from 'node-opcua-client';
import { OPCUAServer } from 'node-opcua-server';

const [n, periodMs, pki] = [Number(process.argv[2]), Number(process.argv[3]), process.argv[4]!];
const server = new OPCUAServer({
  port: 0,
  resourcePath: '/UA/Bench',
  serverCertificateManager: new OPCUACertificateManager({ rootFolder: pki, automaticallyAcceptUnknownCertificate: true }),
  maxConnectionsPerEndpoint: 10,
});
await server.initialize();
const addressSpace = server.engine.addressSpace!;
const ns = addressSpace.getOwnNamespace();
const folder = ns.addObject({ organizedBy: addressSpace.rootFolder.objects, browseName: 'Bench' });
const vars = Array.from({ length: n }, (_, i) =>
  ns.addVariable({ componentOf: folder, browseName: `C${i}`, nodeId: `s=C${i}`, dataType: 'UInt32', minimumSamplingInterval: 0, value: { dataType: DataType.UInt32, value: 0 } }),
);
await server.start();
console.log(`listening opc.tcp://127.0.0.1:${server.endpoints[0]!.port}/UA/Bench`);
let count = 0;
setInterval(() => {
  count++;
  const now = new Date();
  for (const v of vars) v.setValueFromSource({ dataType: DataType.UInt32, value: count }, StatusCodes.Good, now);
}, periodMs);
