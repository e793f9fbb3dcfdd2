// Builds the committed bundles in dist/ (Huddle's binary embeds them, so cargo never needs node):
//   huddle.mjs      ESM, data API + chat UI (bundlers, <script type="module">)
//   huddle.js       IIFE for a plain <script> tag, global `Huddle`
//   huddle-data.mjs ESM, data API only
//   types/          declarations (tsc), for TypeScript users of the package
// `node build.mjs --check` builds in memory (declarations into a temp dir) and fails when a
// committed file differs (stale dist). `npm run build` runs this, then tsc for dist/types.

import { build } from 'esbuild';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
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
if (check) {
  // Declarations: emitted by tsc into a temp dir and compared file by file.
  const tmp = mkdtempSync(join(tmpdir(), 'huddle-sdk-types-'));
  try {
    execFileSync(process.execPath, [join(HERE, 'node_modules/typescript/bin/tsc'), '-p', HERE, '--outDir', tmp], { stdio: 'inherit' });
    const list = (dir, pre = '') => readdirSync(dir, { withFileTypes: true })
      .flatMap((e) => (e.isDirectory() ? list(join(dir, e.name), `${pre}${e.name}/`) : [`${pre}${e.name}`]));
    const fresh = list(tmp).sort();
    let committed = [];
    try { committed = list(join(HERE, 'dist/types')).sort(); } catch { /* none: stale */ }
    for (const f of new Set([...fresh, ...committed])) {
      let a = null;
      let b = null;
      try { a = readFileSync(join(tmp, f), 'utf8'); } catch { /* removed */ }
      try { b = readFileSync(join(HERE, 'dist/types', f), 'utf8'); } catch { /* missing */ }
      if (a !== b) stale.push(join(HERE, 'dist/types', f));
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}
if (stale.length) {
  console.error(`stale build output (run \`npm run build\` in sdk/js and commit dist/):\n  ${stale.join('\n  ')}`);
  process.exit(1);
}
