// Fails when libs/contracts/src/gen or docs/events.md is stale against proto/.
// Regenerates into a temporary copy and compares byte for byte, so the working tree is untouched.
import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const scratch = mkdtempSync(join(tmpdir(), 'orch-proto-'));
const list = (dir) =>
  existsSync(dir)
    ? readdirSync(dir).flatMap((n) =>
        statSync(join(dir, n)).isDirectory() ? list(join(dir, n)) : [join(dir, n)],
      )
    : [];
try {
  cpSync(join(root, 'proto'), join(scratch, 'proto'), { recursive: true });
  const bin = join(root, 'node_modules', '.bin');
  execFileSync(join(bin, 'buf'), ['generate', '--template', 'buf.gen.yaml', '-o', '.'], {
    cwd: join(scratch, 'proto'),
    stdio: 'inherit',
    env: { ...process.env, PATH: `${bin}:${process.env.PATH}` },
  });
  // buf.gen.yaml writes to ../libs/contracts/src/gen relative to proto/.
  const fresh = join(scratch, 'libs', 'contracts', 'src', 'gen');
  const committed = join(root, 'libs', 'contracts', 'src', 'gen');
  const names = new Set([
    ...list(fresh).map((f) => relative(fresh, f)),
    ...list(committed).map((f) => relative(committed, f)),
  ]);
  const stale = [...names].filter((n) => {
    const a = join(fresh, n);
    const b = join(committed, n);
    return !existsSync(a) || !existsSync(b) || !readFileSync(a).equals(readFileSync(b));
  });
  const doc = join(root, 'docs', 'events.md');
  const expectedDoc = execFileSync(
    process.execPath,
    [join(root, 'tools', 'gen-events-doc.mjs'), '--stdout'],
    { encoding: 'utf8' },
  );
  if (!existsSync(doc) || readFileSync(doc, 'utf8') !== expectedDoc) stale.push('docs/events.md');
  if (stale.length > 0) {
    console.error(`Generated code is stale against proto/: ${stale.join(', ')}\nRun: npm run proto:generate`);
    process.exit(1);
  }
  console.log('proto: generated code and docs/events.md are up to date');
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
