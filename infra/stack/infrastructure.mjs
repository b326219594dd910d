// Finds or starts the infrastructure the stack needs: NATS with JetStream and PostgreSQL.
// Uses what answers on the configured URLs; otherwise starts a private instance under .orch/
// (nats-server from PATH, installed from Debian's package when missing and possible;
// PostgreSQL from PATH or /usr/lib/postgresql/*/bin) and stops it again on exit.
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, readdirSync, openSync } from 'node:fs';
import { connect as tcpConnect } from 'node:net';
import { join } from 'node:path';
import pg from 'pg';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export function reachable(host, port, timeoutMs = 1000) {
  return new Promise((resolve) => {
    const socket = tcpConnect({ host, port });
    const done = (ok) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

async function waitFor(what, probe, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await probe()) return;
    await sleep(200);
  }
  throw new Error(`${what} did not come up within ${timeoutMs / 1000} s`);
}

const which = (cmd) => {
  const r = spawnSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : undefined;
};

function aptInstall(pkg, log) {
  if (process.getuid?.() !== 0 || !which('apt-get')) return false;
  log(`installing ${pkg} from Debian's packages ...`);
  const update = spawnSync('apt-get', ['update', '-qq'], { stdio: 'ignore' });
  const install = spawnSync('apt-get', ['install', '-y', '-qq', pkg], {
    stdio: 'ignore',
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
  });
  return update.status === 0 && install.status === 0;
}

/** Ensures NATS with JetStream answers at natsUrl; returns a stop function (a no-op when it was already running). */
export async function ensureNats(natsUrl, stateDir, log) {
  const { hostname, port } = new URL(natsUrl);
  const p = Number(port || 4222);
  if (await reachable(hostname, p)) {
    log(`NATS: using the server at ${natsUrl}`);
    return async () => {};
  }
  let bin =
    which('nats-server') ?? (existsSync('/usr/sbin/nats-server') ? '/usr/sbin/nats-server' : undefined);
  if (!bin && aptInstall('nats-server', log)) bin = which('nats-server') ?? '/usr/sbin/nats-server';
  if (!bin)
    throw new Error(
      'NATS is not reachable at ' +
        natsUrl +
        ' and nats-server is not installed (apt-get install nats-server, or set NATS_URL)',
    );
  const dir = join(stateDir, 'nats');
  mkdirSync(dir, { recursive: true });
  const out = openSync(join(stateDir, 'logs', 'nats-server.log'), 'a');
  log(`NATS: starting ${bin} with JetStream on ${hostname}:${p} (data in ${dir})`);
  const child = spawn(bin, ['-a', hostname, '-p', String(p), '-js', '-sd', dir], {
    stdio: ['ignore', out, out],
  });
  await waitFor('nats-server', () => reachable(hostname, p));
  return async () => {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
  };
}

function postgresBinDir() {
  const initdb = which('initdb');
  if (initdb) return join(initdb, '..');
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return undefined;
  const versions = readdirSync(root).sort((a, b) => Number(b) - Number(a));
  for (const v of versions) if (existsSync(join(root, v, 'bin', 'initdb'))) return join(root, v, 'bin');
  return undefined;
}

async function canQuery(connectionString) {
  const client = new pg.Client({ connectionString, connectionTimeoutMillis: 2000 });
  try {
    await client.connect();
    await client.query('select 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => {});
  }
}

/** Ensures PostgreSQL answers at databaseUrl and the database exists; returns a stop function. */
export async function ensurePostgres(databaseUrl, stateDir, log) {
  const url = new URL(databaseUrl);
  const port = Number(url.port || 5432);
  let stop = async () => {};
  if (await reachable(url.hostname, port)) {
    log(`PostgreSQL: using the server at ${url.hostname}:${port}`);
  } else {
    let bin = postgresBinDir();
    if (!bin && aptInstall('postgresql', log)) bin = postgresBinDir();
    if (!bin)
      throw new Error(
        `PostgreSQL is not reachable at ${url.hostname}:${port} and no initdb was found (apt-get install postgresql, or set DATABASE_URL)`,
      );
    const dataDir = join(stateDir, 'postgres');
    const asUser = process.getuid?.() === 0 ? ['runuser', '-u', 'postgres', '--'] : [];
    const pgLog = join(stateDir, 'logs', 'postgres.log');
    // PostgreSQL refuses to run as root: as root, the cluster and its log belong to `postgres`.
    const giveToPostgres = () => {
      if (!asUser.length) return;
      closeSync(openSync(pgLog, 'a'));
      spawnSync('chown', ['-R', 'postgres', dataDir, pgLog]);
    };
    if (!existsSync(join(dataDir, 'PG_VERSION'))) {
      log(`PostgreSQL: initialising a cluster in ${dataDir}`);
      mkdirSync(dataDir, { recursive: true });
      giveToPostgres();
      const init = spawnSync(
        asUser[0] ?? join(bin, 'initdb'),
        [
          ...asUser.slice(1),
          ...(asUser.length ? [join(bin, 'initdb')] : []),
          '-D',
          dataDir,
          '-U',
          'postgres',
          '--auth=trust',
          '-E',
          'UTF8',
        ],
        { stdio: 'ignore' },
      );
      if (init.status !== 0) throw new Error('initdb failed');
    }
    log(`PostgreSQL: starting ${bin}/postgres on ${url.hostname}:${port}`);
    const pgCtl = join(bin, 'pg_ctl');
    giveToPostgres();
    const args = [
      '-D',
      dataDir,
      '-l',
      pgLog,
      '-o',
      `-p ${port} -k /tmp -c listen_addresses=${url.hostname}`,
      '-w',
      'start',
    ];
    const started = spawnSync(
      asUser[0] ?? pgCtl,
      [...asUser.slice(1), ...(asUser.length ? [pgCtl] : []), ...args],
      { stdio: 'ignore' },
    );
    if (started.status !== 0)
      throw new Error(`pg_ctl start failed; see ${join(stateDir, 'logs', 'postgres.log')}`);
    stop = async () => {
      spawnSync(
        asUser[0] ?? pgCtl,
        [...asUser.slice(1), ...(asUser.length ? [pgCtl] : []), '-D', dataDir, '-m', 'fast', 'stop'],
        { stdio: 'ignore' },
      );
    };
  }
  const admin = new URL(databaseUrl);
  admin.pathname = '/postgres';
  await waitFor('PostgreSQL', () => canQuery(admin.toString()));
  const dbName = decodeURIComponent(url.pathname.slice(1)) || 'postgres';
  const client = new pg.Client({ connectionString: admin.toString() });
  await client.connect();
  try {
    const exists = await client.query('select 1 from pg_database where datname = $1', [dbName]);
    if (exists.rowCount === 0) {
      log(`PostgreSQL: creating database ${dbName}`);
      await client.query(`create database "${dbName.replace(/"/g, '""')}"`);
    }
  } finally {
    await client.end();
  }
  return stop;
}
