// The service's Prometheus metrics: one registry per running service (per Services, see
// src/app/services.ts), served at GET /metrics. Any module registers into it through
// `services.metrics`; asking twice for the same
// name returns the metric already registered, so a module may register where it is built:
//
//   const groups = services.metrics.histogram({
//     name: 'doorbell_command_group_size', help: 'commands committed per group', buckets: [1, 2, 4, 8, 16, 32, 64],
//   });
//   groups.observe(size);
//
// Names start with `doorbell_`, end in `_total` for counters and in the unit (`_seconds`,
// `_bytes`) otherwise.

import {
  Counter,
  type CounterConfiguration,
  Gauge,
  type GaugeConfiguration,
  Histogram,
  type HistogramConfiguration,
  Registry,
} from 'prom-client';

export class Metrics {
  readonly registry = new Registry();

  counter<L extends string = string>(config: Omit<CounterConfiguration<L>, 'registers'>): Counter<L> {
    return this.existing<Counter<L>>(config.name) ?? new Counter({ ...config, registers: [this.registry] });
  }

  gauge<L extends string = string>(config: Omit<GaugeConfiguration<L>, 'registers'>): Gauge<L> {
    return this.existing<Gauge<L>>(config.name) ?? new Gauge({ ...config, registers: [this.registry] });
  }

  histogram<L extends string = string>(config: Omit<HistogramConfiguration<L>, 'registers'>): Histogram<L> {
    return this.existing<Histogram<L>>(config.name) ?? new Histogram({ ...config, registers: [this.registry] });
  }

  /** The Prometheus text exposition of every metric. */
  text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  private existing<M>(name: string): M | undefined {
    return this.registry.getSingleMetric(name) as M | undefined;
  }
}
