// Builds the committed bundles in dist/ (Huddle's binary embeds them, so cargo never needs node):
//   huddle.mjs      ESM, data API + chat UI (bundlers, <script type="module">)
//   huddle.js       IIFE for a plain <script> tag, global `Huddle`
//   huddle-data.mjs ESM, data API only
// `node build.mjs --check` builds in memory and fails when a committed file differs (stale dist).

import { build } from 'esbuild';
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = dirname(fileURLToPath(import.meta.url));
const check = process.argv.includes('--check');
// keepNames: error classes keep their names (e.name === 'BrowserSyncDisallowedError') when minified.
const common = { bundle: true, minify: true, keepNames: true, target: 'es2020', legalComments: 'none', write: false, logLevel: 'warning' };
const outputs = [
  { entryPoints: [join(HERE, 'src/index.ts')], format: 'esm', outfile: join(HERE, 'dist/huddle.mjs') },
  { entryPoints: [join(HERE, 'src/index.ts')], format: 'iife', globalName: 'Huddle', outfile: join(HERE, 'dist/huddle.js') },
  { entryPoints: [join(HERE, 'src/data.ts')], format: 'esm', outfile: join(HERE, 'dist/huddle-data.mjs') },
];

let stale = [];
for (const o of outputs) {
  const r = await build({ ...common, ...o });
  const text = r.outputFiles[0].text;
  if (check) {
    let old = '';
    try { old = readFileSync(o.outfile, 'utf8'); } catch { /* missing counts as stale */ }
    if (old !== text) stale.push(o.outfile);
  } else {
    mkdirSync(dirname(o.outfile), { recursive: true });
    writeFileSync(o.outfile, text);
  }
}
if (stale.length) {
  console.error(`stale build output (run \`npm run build\` in sdk/js and commit dist/):\n  ${stale.join('\n  ')}`);
  process.exit(1);
}
