// A throwaway npm registry on 127.0.0.1 (verdaccio) holding this build's
// tarballs, so a consumer app installs our packages with the same commands a
// user runs against the public registry. Everything else is proxied to the
// registry npm is configured with on this machine.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from '../paths.ts';
import { killTree } from '../process-tree.ts';
import { freePort } from '../server.ts';
import { elapsed, run } from './run.ts';
import { untilReady } from './serve.ts';

/** A running local registry with our packages published. */
export interface LocalRegistry {
  /** `http://127.0.0.1:<port>/` */
  readonly url: string;
  /**
   * The environment a consumer's `npm` runs with: this registry, a user
   * config of its own (the machine's ~/.npmrc is not read) and the auth
   * token `npm publish` needs.
   */
  readonly npmEnv: NodeJS.ProcessEnv;
  /** The versions published, by package name. */
  readonly published: Readonly<Record<string, string>>;
  stop(): Promise<void>;
}

const verdaccioBin = join(repoRoot, 'e2e/node_modules/.bin/verdaccio');

/** Where `npm` fetches from on this machine: verdaccio's uplink. */
function upstreamRegistry(): string {
  return execFileSync('npm', ['config', 'get', 'registry'], { encoding: 'utf8' }).trim();
}

function config(storage: string, uplink: string): string {
  return `storage: ${storage}/storage
auth:
  htpasswd:
    file: ${storage}/htpasswd
    max_users: -1
uplinks:
  upstream:
    url: ${uplink}
    timeout: 60s
    maxage: 30m
packages:
  # Ours: served only from what this run published, never from upstream.
  '@carburetor/*':
    access: $all
    publish: $all
    unpublish: $all
  # The create command (\`pnpm create carburetor-app\`): likewise ours only.
  create-carburetor-app:
    access: $all
    publish: $all
    unpublish: $all
  '**':
    access: $all
    publish: $authenticated
    proxy: upstream
server:
  keepAliveTimeout: 60
publish:
  allow_offline: true
security:
  api:
    legacy: true
log: { type: stdout, format: pretty, level: warn }
`;
}

/**
 * Runs `pnpm release:dry` (the build is cached: the e2e global setup made it),
 * so the apps install exactly the tarballs `pnpm release` would publish, from
 * `release/`; starts verdaccio on a free port with its storage in a temporary
 * folder, and publishes those tarballs to it.
 */
export async function startLocalRegistry(): Promise<LocalRegistry> {
  const home = await mkdtemp(join(tmpdir(), 'carburetor-registry-'));
  const packs = join(repoRoot, 'release');
  let child: ChildProcess | undefined;
  const stop = async () => {
    if (child?.pid !== undefined && child.exitCode === null) await killTree(child.pid);
    await rm(home, { recursive: true, force: true });
  };
  try {
    let started = Date.now();
    await run('pnpm', ['release:dry'], repoRoot);
    console.log(
      `consumers: pnpm release:dry packed and checked the tarballs in ${elapsed(started)}`,
    );

    started = Date.now();
    const port = await freePort();
    const url = `http://127.0.0.1:${port}/`;
    await mkdir(join(home, 'storage'));
    await writeFile(join(home, 'config.yaml'), config(home, upstreamRegistry()));
    const log: string[] = [];
    child = spawn(
      verdaccioBin,
      ['--config', join(home, 'config.yaml'), '--listen', `127.0.0.1:${port}`],
      { cwd: home, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    child.stdout?.on('data', (chunk: Buffer) => log.push(chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => log.push(chunk.toString()));
    // Verdaccio 6 wants Node 22+: it says so and exits at once.
    await untilReady(
      child,
      () => fetch(`${url}-/ping`).then((r) => r.ok),
      `verdaccio on ${url}`,
      log,
    );

    // npm publish needs a token for the registry; verdaccio lets anyone
    // publish our scope, so any token does.
    const npmrc = join(home, 'npmrc');
    await writeFile(
      npmrc,
      `registry=${url}\n//127.0.0.1:${port}/:_authToken=consumer-suite\naudit=false\nfund=false\nupdate-notifier=false\n`,
    );
    const npmEnv: NodeJS.ProcessEnv = {
      ...process.env,
      npm_config_userconfig: npmrc,
      npm_config_registry: url,
    };
    const published: Record<string, string> = {};
    for (const tarball of (await readdir(packs)).filter((file) => file.endsWith('.tgz'))) {
      await run('npm', ['publish', join(packs, tarball), '--registry', url], home, npmEnv);
      const [, name, version] = /^carburetor-(.+)-(\d+\.\d+\.\d+.*)\.tgz$/.exec(tarball) ?? [];
      if (name && version) published[`@carburetor/${name}`] = version;
      const [, command, commandVersion] =
        /^(create-carburetor-app)-(\d+\.\d+\.\d+.*)\.tgz$/.exec(tarball) ?? [];
      if (command && commandVersion) published[command] = commandVersion;
    }
    console.log(
      `consumers: verdaccio on ${url}, published ${Object.keys(published).join(', ')} in ${elapsed(started)}`,
    );
    return { url, npmEnv, published, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
