// Architecture rules checked by `npm run lint` (dependency-cruiser).
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'Import cycles make start-up order and testing fragile.',
      from: {},
      to: { circular: true },
    },
    {
      name: 'only-spool-touches-sqlite',
      severity: 'error',
      comment: 'The spool is the only module that touches SQLite (design-lessons.md #4).',
      from: { pathNot: '^spool/' },
      to: { path: 'node_modules/better-sqlite3' },
    },
    {
      name: 'adapters-are-independent',
      severity: 'error',
      comment: 'Adapters never import each other; they import the adapter kit and their protocol library only.',
      from: { path: '^adapters/([^/]+)/' },
      to: { path: '^adapters/', pathNot: '^adapters/$1/' },
    },
    {
      name: 'adapters-use-the-kit',
      severity: 'error',
      comment:
        'Adapter code reaches the agent only through its public kit (agent/adapter-kit.ts, and agent/kit-schemas.ts for ' +
        'config schemas that must load without the kit\'s runtime), so the agent can change inside ' +
        'without touching adapters. Tests and what sits in an adapter\'s sim/ folder (simulators, test kits, which drive a ' +
        'whole agent) are exempt.',
      from: { path: '^adapters/', pathNot: '(\\.test\\.ts|/sim/[^/]+\\.ts)$' },
      to: { path: '^agent/', pathNot: '^agent/(adapter-kit|kit-schemas)\\.ts$' },
    },
    {
      name: 'adapters-do-not-touch-the-spool',
      severity: 'error',
      comment: 'Sources and sinks reach the spool only through the agent (tests may open it to check what landed).',
      from: { path: '^adapters/', pathNot: '\\.test\\.ts$' },
      to: { path: '^spool/', dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'spool-stands-alone',
      severity: 'error',
      comment: 'cli -> agent -> {adapters, spool}: the spool imports nothing of ours outside spool/.',
      from: { path: '^spool/', pathNot: '\\.test\\.ts$' },
      to: { path: '^(agent|adapters|cli)/' },
    },
    {
      name: 'simulators-stay-out-of-production',
      severity: 'error',
      comment:
        "An adapter's sim/ folder (simulators, test brokers, test kits) is for tests, benchmarks and the CLI verbs that " +
        'start a simulator (demo, erp-sim, opcua-sim); the agent and the adapters never run them.',
      from: { pathNot: '(\\.test\\.ts$|/sim/|^test/|^cli/(demo|erp-sim|opcua)\\.ts$)' },
      to: { path: '^adapters/[^/]+/sim/' },
    },
    {
      name: 'the-spool-is-private-to-the-agent',
      severity: 'error',
      comment:
        "A running agent's spool is reached through its parts (intake, runtime, operations); agent/inspect.ts, the " +
        "tests' look into it, is for tests only.",
      from: { pathNot: '(\\.test\\.ts$|/sim/test-kit\\.ts$|^test/|^agent/agent\\.ts$)' },
      to: { path: '^agent/inspect\\.ts$' },
    },
    {
      name: 'not-to-unresolvable',
      severity: 'error',
      from: {},
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default'] },
  },
};
