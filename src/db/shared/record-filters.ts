// The WHERE clauses of the record lists (contract v1.1), written once for both engines: drizzle's
// operators and sql templates take the columns of either dialect's tables.

import { and, asc, type Column, desc, eq, gt, type SQL, sql, type Table } from 'drizzle-orm';
import type { RECORD_ORDERINGS, RecordFilter, RecordOrder, SWEEP_ORDERINGS } from '../port.js';

/** The columns of msi_resolutions the filters read, in either dialect's table. */
export interface ResolutionColumns extends Table {
  seq: Column;
  vmId: Column;
  sweepId: Column;
  device: Column;
  semantics: Column;
  installed: Column;
  misroutedBeforeFix: Column;
}

/** The columns of msi_sweeps the filters read. */
export interface SweepColumns extends Table {
  seq: Column;
  id: Column;
  vmId: Column;
  semantics: Column;
  routesMissing: Column;
  misroutedBeforeFix: Column;
}

export function resolutionWhere(r: ResolutionColumns, f: RecordFilter): SQL | undefined {
  return and(
    f.vm === undefined ? undefined : eq(r.vmId, f.vm),
    f.device === undefined ? undefined : eq(r.device, f.device),
    f.semantics === undefined ? undefined : eq(r.semantics, f.semantics),
    f.installed === undefined ? undefined : eq(r.installed, f.installed),
    f.misroutedBeforeFix === undefined ? undefined : eq(r.misroutedBeforeFix, f.misroutedBeforeFix),
  );
}

/**
 * A sweep matches `device` when it resolved a vector of that device, `installed` when every route
 * was installed (true) or some was not (false), `misroutedBeforeFix` when some vector was.
 */
export function sweepWhere(s: SweepColumns, r: ResolutionColumns, f: RecordFilter): SQL | undefined {
  const some = (column: Column, wanted: boolean) => (wanted ? gt(column, 0) : eq(column, 0));
  return and(
    f.vm === undefined ? undefined : eq(s.vmId, f.vm),
    f.semantics === undefined ? undefined : eq(s.semantics, f.semantics),
    f.installed === undefined ? undefined : some(s.routesMissing, !f.installed),
    f.misroutedBeforeFix === undefined ? undefined : some(s.misroutedBeforeFix, f.misroutedBeforeFix),
    f.device === undefined
      ? undefined
      : sql`exists (select 1 from ${r} where ${r.sweepId} = ${s.id} and ${r.device} = ${f.device})`,
  );
}

/** ORDER BY of a resolution list: the field asked for, then the order of storage. */
export function resolutionOrder(r: ResolutionColumns, order: RecordOrder<(typeof RECORD_ORDERINGS)[number]>): SQL[] {
  const direction = order.descending ? desc : asc;
  const column = { created: r.seq, vm: r.vmId, device: r.device, semantics: r.semantics }[order.field];
  return [direction(column), direction(r.seq)];
}

/** ORDER BY of a sweep list. */
export function sweepOrder(s: SweepColumns, order: RecordOrder<(typeof SWEEP_ORDERINGS)[number]>): SQL[] {
  const direction = order.descending ? desc : asc;
  const column = { created: s.seq, vm: s.vmId, semantics: s.semantics }[order.field];
  return [direction(column), direction(s.seq)];
}
