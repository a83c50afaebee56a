// The primary process of `workers: auto|N`: forks the workers (node:cluster), gives each the configuration,
// and reports the gateway as a whole — one service-started once every worker listens, one shutdown and one
// service-stopped for all — while the workers serve. Listeners are shared: the primary holds each listening
// socket and deals accepted connections to the workers in turn (node:cluster's round-robin, also for port 0,
// where every worker gets the same ephemeral port). A worker that ends unexpectedly is replaced and counted.
// Reloads are read and validated here once, then applied by every worker; a failure rolls the ones that
// applied it back. Each worker's log lines pass through this process's log destination (log-relay.ts).

import cluster, { type Worker } from 'node:cluster';
import { fileURLToPath } from 'node:url';
import type { GatewayConfig } from '../config/types.js';
import { audit, type Logger } from '../observability/logger.js';
import { announceStart, type ReloadReport, type StopReport } from '../proxy/gateway.js';
import { listenerName } from '../proxy/listener.js';
import { relayLines } from './log-relay.js';
import { RestartBackoff } from './restart-backoff.js';
import { workerEnvironment } from './worker-env.js';
import { isFromWorker, type FromWorker, type ListenerAddress, type ToWorker } from './messages.js';
import { ClusterMetrics, type WorkerMetrics } from './metrics.js';
import { Replies, WorkerError, type Reply } from './replies.js';
import { workerCount, workerShare } from './share.js';

export interface SupervisorOptions {
  readonly config: GatewayConfig;
  readonly workers: number;
  readonly logger: Logger;
  /** Writes worker log lines through the supervisor's own destination (LogHandle.write). */
  readonly writeLog: (lines: string) => void;
}

interface Member {
  readonly worker: Worker;
  readonly pid: number;
  /** The configuration generation it runs; a reload during its start-up is sent to it once it is up. */
  generation: number;
  ready: boolean;
  /** Told to stop (shutdown or fewer workers after a reload): its exit is expected. */
  leaving: boolean;
  stopReport: StopReport | undefined;
  activeTunnels: number;
  /** Settles when the worker's output has been read to its end (or a moment after it exited). */
  readonly logEnded: Promise<void>;
}

/** After a worker exits, how long its last output may take to arrive. */
const LOG_END_MS = 2_000;

/** How long a worker may take to answer a reload (listeners may be bound) or a scrape. */
const RELOAD_REPLY_MS = 30_000;
const METRICS_REPLY_MS = 5_000;
/** Beyond the grace period, how long a stopping worker gets before it is killed. */
const STOP_MARGIN_MS = 5_000;

const WORKER_MAIN = fileURLToPath(new URL('./worker-main.js', import.meta.url));

export class Supervisor {
  readonly metrics: ClusterMetrics;
  /** Workers are started and retired at reload, so `workers` applies without a restart. */
  readonly clustered = true;
  readonly #logger: Logger;
  readonly #writeLog: (lines: string) => void;
  readonly #members = new Map<number, Member>();
  readonly #replies = new Replies();
  /** Workers told to stop that have not yet said how many tunnels they hold, by worker id. */
  readonly #stopAcks = new Map<number, () => void>();
  readonly #restartTimers = new Set<NodeJS.Timeout>();
  #config: GatewayConfig;
  #workers: number;
  #generation = 0;
  #listeners: readonly ListenerAddress[] = [];
  #started = false;
  #draining = false;
  readonly #backoff = new RestartBackoff();

  constructor(options: SupervisorOptions) {
    this.#config = options.config;
    this.#workers = options.workers;
    this.#logger = options.logger;
    this.#writeLog = options.writeLog;
    this.metrics = new ClusterMetrics(options.config.metrics, () => this.#collectMetrics());
    // Worker output comes here through pipes (silent); messages use structured clone so a configuration
    // keeps its undefined fields.
    // Frozen by the setupPrimary() below, so read at start only.
    cluster.schedulingPolicy = options.config.workerScheduling === 'kernel' ? cluster.SCHED_NONE : cluster.SCHED_RR;
    cluster.setupPrimary({ exec: WORKER_MAIN, serialization: 'advanced', silent: true });
  }

  get runtime(): { readonly config: GatewayConfig } {
    return { config: this.#config };
  }

  get draining(): boolean {
    return this.#draining;
  }

  get listeners(): readonly ListenerAddress[] {
    return this.#listeners;
  }

  /** Every worker listened once, none is draining, and at least one serves (a replacement may be starting). */
  isReady(): boolean {
    return this.#started && !this.#draining && this.#serving().length > 0;
  }

  /** Forks every worker and resolves once all of them listen; if one cannot, stops the others and rejects. */
  async start(): Promise<readonly ListenerAddress[]> {
    const starting = Array.from({ length: this.#workers }, () => this.#spawn());
    const results = await Promise.allSettled(starting);
    const failed = results.find((result): result is PromiseRejectedResult => result.status === 'rejected');
    if (failed !== undefined) {
      this.#draining = true;
      for (const member of this.#members.values()) {
        member.leaving = true;
        member.worker.process.kill('SIGKILL');
      }
      throw failed.reason;
    }
    const first = results[0];
    this.#listeners = first?.status === 'fulfilled' ? first.value.listeners : [];
    this.#started = true;
    this.metrics.workersRunning(this.#members.size);
    announceStart(this.#logger, this.#config, this.#listeners, { workers: this.#workers });
    return this.#listeners;
  }

  /** Drains every worker (each gets `graceMs` for its tunnels) and reports the gateway's outcome. */
  async stop(graceMs: number, drainDelayMs = 0): Promise<StopReport> {
    this.#draining = true;
    for (const timer of this.#restartTimers) clearTimeout(timer);
    this.#restartTimers.clear();
    const members = [...this.#members.values()];
    const exits = members.map((member) => this.#retire(member, graceMs, drainDelayMs));
    await Promise.all(members.map((member) => this.#acknowledged(member)));
    const activeTunnels = members.reduce((sum, member) => sum + member.activeTunnels, 0);
    audit(this.#logger, 'info', 'shutdown-started', { activeTunnels, graceMs, drainDelayMs, workers: members.length });
    await Promise.all(exits);
    const reports = members.map((member) => member.stopReport);
    const drained = reports.every((report) => report?.outcome === 'drained');
    const closedTunnels = members.reduce((sum, member) => sum + (member.stopReport?.closedTunnels ?? member.activeTunnels), 0);
    const report: StopReport = { outcome: drained ? 'drained' : 'grace-expired', closedTunnels };
    this.metrics.workersRunning(0);
    audit(this.#logger, 'info', 'service-stopped', { ...report, workers: members.length });
    return report;
  }

  /**
   * Applies a validated configuration in every worker. When one refuses it (a listener that cannot bind),
   * those that applied it go back to the previous one and the error is thrown. A new `workers` count starts
   * or retires workers (retired ones drain like at shutdown).
   */
  async reload(config: GatewayConfig): Promise<ReloadReport> {
    const previous = this.#config;
    const count = workerCount(config.workers);
    const members = this.#serving();
    this.#generation += 1;
    const generation = this.#generation;
    const results = await Promise.allSettled(members.map((member) => this.#reloadMember(member, config, count, generation)));
    const failed = results.find((result): result is PromiseRejectedResult => result.status === 'rejected');
    if (failed !== undefined) {
      const applied = members.filter((_, index) => results[index]?.status === 'fulfilled');
      await Promise.allSettled(applied.map((member) => this.#reloadMember(member, previous, this.#workers, generation - 1)));
      this.#generation -= 1;
      throw failed.reason;
    }
    this.#config = config;
    this.#logger.level = config.log.level;
    this.#resize(count, config);
    const reports = results.map((result) => (result.status === 'fulfilled' ? result.value : undefined));
    const first = reports[0];
    if (first !== undefined) this.#listeners = movedListeners(this.#listeners, first);
    return {
      listenersOpened: first?.listenersOpened ?? [],
      listenersReplaced: first?.listenersReplaced ?? [],
      listenersClosed: first?.listenersClosed ?? [],
      tunnelsClosed: reports.reduce((sum, report) => sum + (report?.tunnelsClosed ?? 0), 0),
    };
  }

  #serving(): Member[] {
    return [...this.#members.values()].filter((member) => member.ready && !member.leaving);
  }

  async #reloadMember(member: Member, config: GatewayConfig, workers: number, generation: number): Promise<ReloadReport> {
    const reply = await this.#request(member, (id) => ({ type: 'reload', id, config: workerShare(config, workers) }), RELOAD_REPLY_MS);
    if (reply.type === 'reload-failed') throw new WorkerError(reply.message, reply.code);
    if (reply.type !== 'reloaded') throw new WorkerError(`worker ${member.worker.id} answered a reload with ${reply.type}`, undefined);
    member.generation = generation;
    return reply.report;
  }

  /** Starts workers up to `count`, or retires the newest ones down to it. */
  #resize(count: number, config: GatewayConfig): void {
    if (count === this.#workers) return;
    const serving = this.#serving().sort((a, b) => b.worker.id - a.worker.id);
    this.#workers = count;
    for (const member of serving.slice(0, Math.max(0, serving.length - count))) {
      void this.#retire(member, config.timeouts.shutdownGraceSeconds * 1000, 0);
    }
    for (let i = serving.length; i < count; i += 1) this.#replace();
  }

  /** Forks one worker; resolves once it listens. */
  #spawn(): Promise<{ member: Member; listeners: ListenerAddress[] }> {
    const worker = cluster.fork(workerEnvironment());
    const stdout = worker.process.stdout;
    const logEnded = new Promise<void>((resolve) => {
      if (stdout === null) return resolve();
      stdout.once('close', () => resolve());
      worker.once('exit', () => setTimeout(resolve, LOG_END_MS).unref());
    });
    const member: Member = {
      worker,
      pid: worker.process.pid ?? -1,
      generation: this.#generation,
      ready: false,
      leaving: false,
      stopReport: undefined,
      activeTunnels: 0,
      logEnded,
    };
    this.#members.set(worker.id, member);
    if (stdout !== null) relayLines(stdout, this.#writeLog);
    worker.process.stderr?.pipe(process.stderr, { end: false });
    return new Promise((resolve, reject) => {
      worker.on('message', (message: unknown) => {
        if (!isFromWorker(message)) return;
        if (message.type === 'hello') {
          member.generation = this.#generation;
          this.#send(member, { type: 'start', config: workerShare(this.#config, this.#workers) });
        } else if (message.type === 'started') {
          member.ready = true;
          resolve({ member, listeners: [...message.listeners] });
          this.#catchUp(member);
        } else if (message.type === 'start-failed') {
          reject(new WorkerError(message.message, message.code));
        } else {
          this.#onMessage(member, message);
        }
      });
      // Errors on the IPC channel (the worker died mid-send) are followed by 'exit', which handles them.
      worker.on('error', () => undefined);
      worker.once('exit', (code: number | null, signal: NodeJS.Signals | null) => {
        reject(new WorkerError(`worker ${worker.id} exited during start-up (code ${code}, signal ${signal})`, undefined));
        this.#onExit(member, code, signal);
      });
    });
  }

  /** A worker that started while a reload went by gets the configuration in force now. */
  #catchUp(member: Member): void {
    if (member.generation === this.#generation) return;
    const generation = this.#generation;
    this.#reloadMember(member, this.#config, this.#workers, generation).catch((err: Error) => {
      audit(this.#logger, 'error', 'reload-failed', { worker: member.worker.id, reason: (err as WorkerError).code ?? 'error' }, `worker ${member.worker.id} could not apply the configuration: ${err.message}`);
    });
  }

  #onMessage(member: Member, message: FromWorker): void {
    if (message.type === 'stopping') {
      member.activeTunnels = message.activeTunnels;
      this.#stopAcks.get(member.worker.id)?.();
    } else if (message.type === 'stopped') {
      member.stopReport = message.report;
    } else if ('id' in message) {
      this.#replies.settle(message);
    }
  }

  #onExit(member: Member, code: number | null, signal: NodeJS.Signals | null): void {
    this.#members.delete(member.worker.id);
    this.#stopAcks.get(member.worker.id)?.();
    this.#replies.abandon(member.worker.id);
    if (member.leaving || this.#draining || !this.#started) return;
    audit(this.#logger, 'warn', 'worker-exited', { worker: member.worker.id, workerPid: member.pid, code, signal, replaced: true }, `worker ${member.worker.id} (pid ${member.pid}) exited unexpectedly; starting a replacement`);
    this.metrics.workerRestarted();
    this.metrics.workersRunning(this.#serving().length);
    this.#replace();
  }

  /** Starts a replacement, at once for a first failure and ever more slowly for a worker that keeps failing. */
  #replace(): void {
    const delayMs = this.#backoff.next(Date.now());
    const timer = setTimeout(() => {
      this.#restartTimers.delete(timer);
      if (this.#draining) return;
      this.#spawn().then(
        ({ member }) => {
          audit(this.#logger, 'info', 'worker-started', { worker: member.worker.id, workerPid: member.pid });
          this.metrics.workersRunning(this.#serving().length);
        },
        (err: WorkerError) => {
          audit(this.#logger, 'error', 'error', { reason: 'worker-start-failed', code: err.code }, `a replacement worker could not start: ${err.message}`);
        },
      );
    }, delayMs);
    this.#restartTimers.add(timer);
  }

  /**
   * Tells a worker to drain and resolves when it has exited and its last log lines are through; kills it if
   * it outlives the grace period.
   */
  #retire(member: Member, graceMs: number, drainDelayMs: number): Promise<void> {
    member.leaving = true;
    return new Promise((resolve) => {
      if (member.worker.isDead()) {
        resolve();
        return;
      }
      const killer = setTimeout(() => member.worker.process.kill('SIGKILL'), drainDelayMs + graceMs + STOP_MARGIN_MS);
      member.worker.once('exit', () => {
        clearTimeout(killer);
        void member.logEnded.then(() => resolve());
      });
      this.#send(member, { type: 'stop', graceMs, drainDelayMs });
    });
  }

  /** Resolves when the worker has acknowledged a stop (with its count of open tunnels), has exited, or after a second. */
  #acknowledged(member: Member): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.#stopAcks.delete(member.worker.id);
        resolve();
      };
      const timer = setTimeout(done, 1000);
      this.#stopAcks.set(member.worker.id, done);
      if (member.worker.isDead()) done();
    });
  }

  #request(member: Member, message: (id: number) => ToWorker, timeoutMs: number): Promise<Reply> {
    return this.#replies.request(member.worker.id, (id) => this.#send(member, message(id)), timeoutMs);
  }

  #send(member: Member, message: ToWorker): void {
    if (member.worker.isConnected()) member.worker.send(message);
  }

  async #collectMetrics(): Promise<WorkerMetrics[]> {
    const members = this.#serving();
    const replies = await Promise.allSettled(members.map((member) => this.#request(member, (id) => ({ type: 'metrics', id }), METRICS_REPLY_MS)));
    const collected: WorkerMetrics[] = [];
    replies.forEach((reply, index) => {
      const member = members[index];
      if (reply.status === 'fulfilled' && reply.value.type === 'metrics' && member !== undefined) {
        collected.push({ worker: member.worker.id, metrics: reply.value.metrics, clients: reply.value.clients });
      }
    });
    return collected;
  }
}

/** The bound listeners after a reload that opened and closed the ones `report` names (HOST:PORT). */
function movedListeners(listeners: readonly ListenerAddress[], report: ReloadReport): ListenerAddress[] {
  const closed = new Set(report.listenersClosed);
  const opened = report.listenersOpened.map((name) => {
    const at = name.lastIndexOf(':');
    return { address: name.slice(0, at).replace(/^\[|\]$/g, ''), port: Number(name.slice(at + 1)) };
  });
  return [...listeners.filter(({ address, port }) => !closed.has(listenerName({ host: address, port }))), ...opened];
}
