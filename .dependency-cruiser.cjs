/**
 * The direction dependencies may run in (README, "Code map"). `npm test` runs this first (pretest),
 * so a back edge fails CI. Type-only imports count: a type import is still a dependency of the design.
 */
const CORE = '^src/(domain|sync-issue|async-issue|rate-limit|waiting-room|adapters)/';
const TOOLS = '^src/(bench|demo|harness)/';

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'A cycle makes two modules one: neither can be read, tested or changed alone.',
      from: {},
      to: { circular: true },
    },
    {
      name: 'domain-is-the-core',
      severity: 'error',
      comment: 'The domain knows no issue path, entry point, tool, Redis, or the wiring; the paths come to it through ports it declares.',
      from: { path: '^src/domain/' },
      to: { path: ['^src/(sync-issue|async-issue|waiting-room|entry-points|bench|demo|harness)/', '^src/adapters/redis/', '^src/adapters/unavailable', '^src/deps'] },
    },
    {
      name: 'domain-reaches-mysql-only-through-its-repository',
      severity: 'error',
      comment: 'Rules and services stay free of storage; rows are mapped to domain objects in the repository alone.',
      from: { path: '^src/domain/', pathNot: '\\.repository\\.ts$' },
      to: { path: '^src/adapters/' },
    },
    {
      name: 'issue-paths-and-waiting-room-are-independent',
      severity: 'error',
      comment: 'POST /v1/issue (sync-issue) and POST /v1/issue-async (async-issue) count stock in different stores; '
        + 'the waiting room decides who may claim, composed by the API before either path and counting units through its own scripts. '
        + 'None of the three reaches into another.',
      from: { path: '^src/(sync-issue|async-issue|waiting-room)/' },
      to: { path: '^src/(sync-issue|async-issue|waiting-room)/', pathNot: '^src/$1/' },
    },
    {
      name: 'adapters-are-leaves',
      severity: 'error',
      comment: 'MySQL and Redis adapters know nothing of coupons, paths or the client contract; the core uses them, never the reverse.',
      from: { path: '^src/adapters/' },
      to: { path: ['^src/(domain|sync-issue|async-issue|waiting-room|entry-points|bench|demo|harness)/', '^src/(errors|deps|config)\\.ts$'] },
    },
    {
      name: 'core-never-imports-entry-points-metrics-or-tools',
      severity: 'error',
      comment: 'Entry points, metrics and tools are built on the core; the core runs without any of them.',
      from: { path: CORE },
      to: { path: ['^src/(entry-points|metrics)/', TOOLS] },
    },
    {
      name: 'entry-points-do-not-import-each-other',
      severity: 'error',
      comment: 'The API and the consumer run alone; only the CLI, the dispatcher, starts them.',
      from: { path: '^src/entry-points/(api|consumer)/' },
      to: { path: '^src/entry-points/', pathNot: '^src/entry-points/$1/' },
    },
    {
      name: 'tools-only-from-the-cli',
      severity: 'error',
      comment: 'bench, demo and their harness are development tools: the production service never loads them.',
      from: { path: '^src/', pathNot: [TOOLS, '^src/entry-points/cli/'] },
      to: { path: TOOLS },
    },
    {
      name: 'production-code-uses-production-dependencies',
      severity: 'error',
      comment: 'The image installs without devDependencies (npm ci --omit=dev): only tools may use them.',
      from: { path: '^src/', pathNot: TOOLS },
      to: { dependencyTypes: ['npm-dev'], dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'not-to-unresolvable',
      severity: 'error',
      comment: 'An import that resolves to nothing fails at run time.',
      from: {},
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default'], extensions: ['.ts', '.cts', '.js', '.cjs', '.d.ts'] },
  },
};
