// The application's objects, built once at startup from the stores and handed to every route
// (and to the CLI, tests and benchmarks that run commands without HTTP): the VM repository (load,
// If-Match, decide, fold, with its cache of current states), the command writer (group commit)
// and the metrics registry. Nothing is kept in a module-level registry: whoever builds the
// services owns them, and closes the stores after.

import type { Stores } from '../db/port.js';
import { Metrics } from '../metrics/registry.js';
import { observeStores } from '../metrics/store-metrics.js';
import { CommandWriter } from './command-writer.js';
import { VmRepository } from './vm-repository.js';

export interface Services {
  stores: Stores;
  /** VMs as projected from their events; the one place commands are planned. */
  vms: VmRepository;
  /** Runs topology commands, committed in groups (command-writer.ts). */
  commands: CommandWriter;
  /** The Prometheus registry served at GET /metrics; register new metrics here (src/metrics/registry.ts). */
  metrics: Metrics;
}

export function createServices(stores: Stores, metrics: Metrics = new Metrics()): Services {
  observeStores(metrics, stores);
  const vms = new VmRepository(stores.events);
  return { stores, vms, commands: new CommandWriter(stores, vms), metrics };
}
