// Sums the self time per function of a V8 .cpuprofile (node --cpu-prof) and prints the top N:
// where a server spends its main thread under load (issue 21: profile first, then cut).
//   npx tsx scripts/profile-summary.ts <file.cpuprofile> [N] [fromUs]
// fromUs: only the samples taken after this monotonic time in µs (process.hrtime.bigint() / 1000n
// in any process on the machine: V8 and libuv read the same clock), to leave start-up out.

import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}
interface Profile {
  nodes: ProfileNode[];
  startTime: number;
  samples: number[];
  timeDeltas: number[];
}

const [file, top = '15', from = '0'] = process.argv.slice(2);
if (file === undefined) throw new Error('usage: profile-summary.ts <file.cpuprofile> [N]');
const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
const byId = new Map(profile.nodes.map((n) => [n.id, n]));

// Self time: each sample's time delta charged to the node it landed in.
const selfUs = new Map<string, number>();
/** Self time by area: a package under node_modules, a folder of src, node's internals, V8's own. */
const areaUs = new Map<string, number>();
const areaOf = (url: string, name: string) => {
  if (url === '') return name.startsWith('(') ? name : '(native)';
  const pkg = /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url);
  if (pkg) return pkg[1]!;
  const own = /\/(src\/[^/]+(?:\/[^/]+(?=\/))?)/.exec(url);
  if (own) return own[1]!;
  return url.startsWith('node:') ? `node:${url.slice(5).split('/')[url.startsWith('node:internal') ? 1 : 0]}` : url;
};
let totalUs = 0;
let at = profile.startTime;
profile.samples.forEach((id, i) => {
  at += profile.timeDeltas[i] ?? 0;
  if (at < Number(from)) return;
  const node = byId.get(id)!;
  const { functionName, url, lineNumber } = node.callFrame;
  const where =
    url === ''
      ? ''
      : ` ${url.replace(/^.*\/node_modules\//, '').replace(/^file:\/\/.*?\/(src|bench)\//, '$1/')}:${lineNumber + 1}`;
  const key = `${functionName || '(anonymous)'}${where}`;
  const us = profile.timeDeltas[i] ?? 0;
  selfUs.set(key, (selfUs.get(key) ?? 0) + us);
  const area = areaOf(url, functionName);
  areaUs.set(area, (areaUs.get(area) ?? 0) + us);
  totalUs += us;
});
const idle = selfUs.get('(idle)') ?? 0;
console.log(
  `total ${(totalUs / 1e6).toFixed(2)} s, idle ${(idle / 1e6).toFixed(2)} s, busy ${((totalUs - idle) / 1e6).toFixed(2)} s`,
);
// Shares are of the busy time (idle left out); the idle row shows none.
const share = (us: number) => (us === idle ? '' : `${((100 * us) / (totalUs - idle)).toFixed(1)}%`).padStart(6);
for (const [key, us] of [...selfUs].sort((a, b) => b[1] - a[1]).slice(0, Number(top)))
  console.log(`${(us / 1000).toFixed(0).padStart(7)} ms ${share(us)}  ${key}`);
console.log('by area:');
for (const [area, us] of [...areaUs].sort((a, b) => b[1] - a[1]).slice(0, Number(top)))
  console.log(`${(us / 1000).toFixed(0).padStart(7)} ms ${share(us)}  ${area}`);
