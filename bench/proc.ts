/**
 * What the kernel says about CPU, memory and sockets (Linux /proc, and `ss` for TCP counters): per-process CPU time,
 * the machine's total busy time, resident memory, and the segments a process sent to a port. Used for "server CPU per
 * request", "max RSS", "Redis round trips per request" and "was the machine busy with other work".
 */
import { execFile, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import { promisify } from 'node:util';

/** Clock ticks per second of the times in /proc (USER_HZ); 100 on every usual Linux. */
export const CLOCK_TICKS = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

export type ProcessInfo = { pid: number; ppid: number; comm: string; cpuTicks: number };

/** utime + stime and the parent of one process, or null when it is gone. */
export function readProcess(pid: number): ProcessInfo | null {
  let stat: string;
  try {
    stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null;
  }
  // The command name is in parentheses and may itself contain spaces or parentheses: split after the last one.
  const close = stat.lastIndexOf(')');
  const comm = stat.slice(stat.indexOf('(') + 1, close);
  const fields = stat.slice(close + 2).split(' ');
  // fields[0] is field 3 (state) of proc(5): ppid is field 4, utime 14, stime 15.
  return { pid, ppid: Number(fields[1]), comm, cpuTicks: Number(fields[11]) + Number(fields[12]) };
}

/** Every process currently visible. */
export function listProcesses(): Map<number, ProcessInfo> {
  const processes = new Map<number, ProcessInfo>();
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^[0-9]+$/.test(entry)) continue;
    const info = readProcess(Number(entry));
    if (info) processes.set(info.pid, info);
  }
  return processes;
}

/** The pids and all their descendants (a tsx wrapper's node, esbuild's service process, …). */
export function withDescendants(roots: Iterable<number>, processes: Map<number, ProcessInfo>): Set<number> {
  const tree = new Set(roots);
  let grew = true;
  while (grew) {
    grew = false;
    for (const info of processes.values()) {
      if (!tree.has(info.pid) && tree.has(info.ppid)) {
        tree.add(info.pid);
        grew = true;
      }
    }
  }
  return tree;
}

/** CPU ticks the whole machine spent busy (not idle, not waiting for I/O) since boot, over all cores. */
export function machineBusyTicks(): number {
  const line = fs.readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!;
  const [, user, nice, system, , , irq, softirq, steal] = line.trim().split(/\s+/).map(Number);
  return user! + nice! + system! + irq! + softirq! + steal!;
}

/** Resident set size now (VmRSS) and its peak since start (VmHWM), in bytes; null when the process is gone. */
export function readMemory(pid: number): { rss: number; peak: number } | null {
  try {
    const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const kib = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0) * 1024;
    return { rss: kib('VmRSS'), peak: kib('VmHWM') };
  } catch {
    return null;
  }
}

/** Samples a process's RSS every `intervalMs` until stopped; reports the maximum seen. */
export function sampleRss(pid: number, intervalMs = 200): { stop(): number } {
  let max = readMemory(pid)?.rss ?? 0;
  const timer = setInterval(() => {
    max = Math.max(max, readMemory(pid)?.rss ?? 0);
  }, intervalMs);
  return {
    stop() {
      clearInterval(timer);
      max = Math.max(max, readMemory(pid)?.rss ?? 0);
      return max;
    },
  };
}

/** A short description of the machine for the report. */
export function describeMachine() {
  const cpus = os.cpus();
  return {
    cpuModel: cpus[0]?.model.trim() ?? 'unknown',
    cores: cpus.length,
    memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    kernel: `${os.type()} ${os.release()}`,
    node: process.version,
    loadAverage: os.loadavg().map((load) => Math.round(load * 100) / 100),
  };
}

/**
 * Data-carrying TCP segments each established socket of `pids` has sent to `remotePort` (ss's `data_segs_out`),
 * keyed by the socket's local address. A client that waits for each answer before its next command sends one
 * segment per round trip (a pipeline or MULTI…EXEC goes out as one), so the difference between two readings counts
 * round trips. Null when `ss` is missing (the caller reports "not measured").
 */
export async function tcpSegmentsSent(pids: Set<number>, remotePort: number): Promise<Map<string, number> | null> {
  let output: string;
  try {
    ({ stdout: output } = await promisify(execFile)('ss', ['-tinpH', 'state', 'established', 'dport', '=', `:${remotePort}`]));
  } catch {
    return null;
  }
  const sockets = new Map<string, number>();
  let current: string | null = null;
  for (const line of output.split('\n')) {
    if (!line.trim()) continue;
    if (!/^\s/.test(line)) {
      // "Recv-Q Send-Q Local:Port Peer:Port users:(("node",pid=123,fd=21))"
      const [, , local] = line.trim().split(/\s+/);
      const owners = [...line.matchAll(/pid=(\d+)/g)].map((match) => Number(match[1]));
      current = local && owners.some((pid) => pids.has(pid)) ? local : null;
      if (current) sockets.set(current, 0);
      continue;
    }
    // ss leaves the counter out while it is 0.
    const sent = /\bdata_segs_out:(\d+)/.exec(line);
    if (current && sent) sockets.set(current, Number(sent[1]));
  }
  return sockets;
}
