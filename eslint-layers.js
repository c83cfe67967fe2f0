// The layers of src/, lowest first, and what each may import: the rule ESLint enforces
// (eslint.config.js, no-restricted-imports) and the table in the README (test/layers.test.ts checks
// the two agree). A folder imports only from the folders listed for it and from itself; test/ and
// bench/ may import anything; the web page (web/src) talks HTTP and takes only the contract's
// types from the server (type-only imports of its compiled declarations).
export const LAYERS = [
  { dir: 'util', may: [] },
  { dir: 'engine', may: ['util'] },
  { dir: 'nn', may: ['engine', 'util'] },
  { dir: 'optim', may: ['engine', 'util'] },
  { dir: 'io', may: ['engine', 'nn', 'optim', 'util'] },
  { dir: 'data', may: ['engine', 'util'] },
  { dir: 'text', may: ['engine', 'util'] },
  { dir: 'models', may: ['engine', 'nn', 'text', 'util'] },
  { dir: 'artifacts', may: ['engine', 'nn', 'io', 'text', 'models', 'util'] },
  { dir: 'inference', may: ['engine', 'nn', 'optim', 'io', 'text', 'models', 'artifacts', 'util'] },
  { dir: 'eval', may: ['engine', 'nn', 'io', 'data', 'text', 'models', 'artifacts', 'inference', 'util'] },
  {
    dir: 'train',
    may: ['engine', 'nn', 'optim', 'io', 'data', 'text', 'models', 'artifacts', 'inference', 'eval', 'util'],
  },
  { dir: 'server', may: ['engine', 'io', 'text', 'models', 'artifacts', 'inference', 'eval', 'util'] },
  {
    dir: 'cli',
    may: [
      'engine',
      'nn',
      'optim',
      'io',
      'data',
      'text',
      'models',
      'artifacts',
      'inference',
      'eval',
      'train',
      'server',
      'util',
    ],
  },
];

/** ESLint flat-config blocks, one per layer: importing a folder not in its list is an error. */
export function layerRules() {
  const all = LAYERS.map((l) => l.dir);
  return [
    ...LAYERS.map(({ dir, may }) => {
      const banned = all.filter((d) => d !== dir && !may.includes(d));
      return {
        files: [`src/${dir}/**/*.ts`],
        rules: {
          'no-restricted-imports': [
            'error',
            {
              patterns: banned.map((d) => ({
                // Any relative path that climbs out to src/<d>/ (the folder names are unique in src/).
                regex: `^(\\.\\./)+${d}/`,
                message: `src/${dir} may import only ${may.length ? may.join(', ') : 'nothing from src/'} (layers: eslint-layers.js, README "Layout")`,
              })),
            },
          ],
        },
      };
    }),
    {
      files: ['web/src/**/*.ts'],
      rules: {
        'no-restricted-imports': [
          'error',
          {
            patterns: [
              { regex: '^(\\.\\./)+src/', message: 'the web page talks to the server over HTTP only' },
              {
                // The HTTP contract's types, from the server's compiled declarations; never its code.
                regex: '^(\\.\\./)+dist/',
                allowTypeImports: true,
                message: 'the web page imports only types from the server (import type / export type)',
              },
            ],
          },
        ],
      },
    },
  ];
}
