/**
 * A reverse proxy in front of Mayday, as in any deployment: TLS ends at a proxy or load balancer,
 * which keeps a pool of kept-alive connections to Mayday. Here nginx (Debian's nginx-light) on
 * loopback, plain HTTP, one worker process, a pool of `keepalive` idle connections per upstream.
 *
 * Why it matters to a burst: Node 20 (libuv 1.46) accepts one connection per turn of its event
 * loop, and under load a turn handles hundreds of ready sockets, so Mayday alone accepted a few
 * dozen new connections a second: 5,000 phones connecting directly would queue in its accept
 * queue for seconds (bench:burst without a proxy). nginx accepts them at once and reuses its pool.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { onCleanup } from './run';

export const NGINX = '/usr/sbin/nginx';
export const HAPROXY = '/usr/sbin/haproxy';

export interface Proxy {
  url: string;
  port: number;
  proc: ChildProcess;
  /** Pids of nginx's master and worker, for CPU accounting. */
  pids(): number[];
  stop(): Promise<void>;
}

export function nginxAvailable(): boolean {
  return existsSync(NGINX);
}

export function haproxyAvailable(): boolean {
  return existsSync(HAPROXY);
}

/**
 * HAProxy on 127.0.0.1:`port` in front of 127.0.0.1:`upstreamPort`, with at most `maxconn`
 * connections to Mayday: requests beyond them wait in HAProxy's queue (as a load balancer with a
 * per-target connection limit does) and reuse its kept-alive connections, so Mayday never has
 * more than `maxconn` connections to accept.
 */
export async function startHaproxy(port: number, upstreamPort: number, o: { maxconn?: number } = {}): Promise<Proxy> {
  const dir = mkdtempSync(join(tmpdir(), 'mayday-bench-haproxy-'));
  const conf = join(dir, 'haproxy.cfg');
  writeFileSync(conf, `
global
  maxconn 8000
  nbthread 1
defaults
  mode http
  timeout connect 5s
  timeout client 65s
  timeout server 60s
  timeout queue 60s
  timeout http-keep-alive 65s
  option http-keep-alive
  http-reuse always
frontend front
  bind 127.0.0.1:${port}
  maxconn 8000
  default_backend mayday
backend mayday
  server mayday 127.0.0.1:${upstreamPort} maxconn ${o.maxconn ?? 64}
`);
  return runProxy('haproxy', HAPROXY, ['-db', '-f', conf], port, dir, (proc) => () => [proc.pid!], 'SIGTERM');
}

/** nginx on 127.0.0.1:`port`, forwarding everything to 127.0.0.1:`upstreamPort` over a kept-alive pool. */
export async function startNginx(port: number, upstreamPort: number, o: { keepalive?: number } = {}): Promise<Proxy> {
  const dir = mkdtempSync(join(tmpdir(), 'mayday-bench-nginx-'));
  const conf = join(dir, 'nginx.conf');
  writeFileSync(conf, `
worker_processes 1;
user root;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 16384; multi_accept on; }
http {
  access_log off;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  keepalive_timeout 65s;
  keepalive_requests 1000000;
  upstream mayday {
    server 127.0.0.1:${upstreamPort};
    keepalive ${o.keepalive ?? 256};
    keepalive_requests 1000000;
    keepalive_timeout 60s;
  }
  server {
    listen 127.0.0.1:${port} backlog=4096;
    location / {
      proxy_pass http://mayday;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $http_host;
      proxy_set_header X-Forwarded-For $remote_addr;
      proxy_buffering off;
      proxy_read_timeout 60s;
    }
  }
}
`);
  const pids = () => () => {
    const master = Number(readFileSync(join(dir, 'nginx.pid'), 'utf8').trim());
    let workers: number[] = [];
    try {
      workers = readFileSync(`/proc/${master}/task/${master}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
    } catch {
      /* gone */
    }
    return [master, ...workers];
  };
  return runProxy('nginx', NGINX, ['-p', dir, '-c', conf, '-g', 'daemon off;'], port, dir, pids, 'SIGQUIT');
}

/** Start `bin` with `args`, wait until it answers HTTP on `port`, and stop it (and remove `dir`) at cleanup. */
async function runProxy(name: string, bin: string, args: string[], port: number, dir: string, pids: (proc: ChildProcess) => () => number[], quit: NodeJS.Signals): Promise<Proxy> {
  const proc = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout!.on('data', (b) => (out += b));
  proc.stderr!.on('data', (b) => (out += b));
  const url = `http://127.0.0.1:${port}`;
  onCleanup(`stop ${name} if it started`, () => void (proc.exitCode === null && proc.kill('SIGKILL')));
  for (let i = 0; ; i++) {
    if (proc.exitCode !== null) throw new Error(`${name} exited: ${out}`);
    try {
      await fetch(`${url}/healthz`);
      break;
    } catch {
      if (i > 100) throw new Error(`${name} did not answer on ${url}: ${out}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  const proxy: Proxy = {
    url,
    port,
    proc,
    pids: pids(proc),
    async stop() {
      if (proc.exitCode === null) {
        proc.kill(quit);
        await new Promise((r) => setTimeout(r, 200));
        if (proc.exitCode === null) proc.kill('SIGKILL');
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
  onCleanup(`stop ${name}`, () => proxy.stop());
  return proxy;
}
