// A small SVG chart: throughput per variant (bars) and RSS over time for some of them (lines). Hand-written:
// the chart libraries for Node need a native canvas or a browser, which this step should not.
const W = 900;
const H = 400;
const esc = (s: string) => s.replace(/[<>&]/g, (c) => `&#${c.charCodeAt(0)};`);

/** Per variant: its median throughput and the run whose RSS samples are drawn. */
export type ChartResults = Record<string, { throughput: number; sample: { rss: [number, number][] } }>;

const PALETTE = ['#d54', '#2b7', '#47c', '#c90'];

/**
 * `lines`: the variants whose RSS is drawn. With `shareOfRun`, each line spans the width (x is the share
 * of its own run), for runs of very different lengths whose shapes are compared.
 */
export function chartSvg(results: ChartResults, variants: Record<string, { label: string }>, lines = ['a', 'c'], shareOfRun = false): string {
  const color = (k: string) => PALETTE[lines.indexOf(k)] ?? '#89a';
  const keys = Object.keys(results);
  const maxT = Math.max(...keys.map((k) => results[k]!.throughput));
  const barW = 300 / keys.length;
  const bars = keys
    .map((k, i) => {
      const h = (results[k]!.throughput / maxT) * 240;
      const x = 40 + i * barW;
      return `<rect x="${x}" y="${290 - h}" width="${barW - 10}" height="${h}" fill="${color(k)}"/>
<text x="${x + (barW - 10) / 2}" y="${284 - h}" text-anchor="middle" font-size="12">${results[k]!.throughput.toFixed(2)}</text>
<text x="${x + (barW - 10) / 2}" y="306" text-anchor="middle" font-size="12">${k}</text>`;
    })
    .join('\n');
  const series = lines.filter((k) => results[k]).map((k) => ({ k, pts: results[k]!.sample.rss }));
  const maxX = Math.max(...series.flatMap((s) => s.pts.map((p) => p[0])), 1);
  const xOf = (t: number, pts: [number, number][]) => 400 + (t / (shareOfRun ? Math.max(pts[pts.length - 1]?.[0] ?? 1, 1) : maxX)) * 460;
  const maxY = Math.max(...series.flatMap((s) => s.pts.map((p) => p[1])), 1);
  const paths = series
    .map(({ k, pts }) => {
      const d = pts.map(([t, r], i) => `${i ? 'L' : 'M'}${xOf(t, pts).toFixed(1)},${(290 - (r / maxY) * 240).toFixed(1)}`).join(' ');
      return `<path d="${d}" fill="none" stroke="${color(k)}" stroke-width="2"/>`;
    })
    .join('\n');
  const legend = series
    .map(({ k }, i) => `<text x="400" y="${318 + i * 14}" font-size="12" fill="${color(k)}">${esc(variants[k]!.label)}</text>`)
    .join('\n');
  const axes = `<text x="395" y="54" text-anchor="end" font-size="11">${(maxY / 2 ** 20).toFixed(0)} MiB</text>
<text x="395" y="294" text-anchor="end" font-size="11">0</text>
<text x="860" y="306" text-anchor="end" font-size="11">${shareOfRun ? 'end of each run' : `${(maxX / 1000).toFixed(1)} s`}</text>`;
  const names = Object.keys(results).map((k) => esc(variants[k]!.label));
  const footnote = [names.slice(0, 3), names.slice(3)]
    .map((row, i) => `<text x="40" y="${368 + i * 16}" font-size="11">${row.join(' · ')}</text>`)
    .join('\n');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif">
<rect width="${W}" height="${H}" fill="white"/>
<text x="40" y="30" font-size="15">Throughput, GiB/s (median)</text>
<text x="400" y="30" font-size="15">Client RSS over ${shareOfRun ? 'each run' : 'one run'} (peak ${(maxY / 2 ** 20).toFixed(0)} MiB${shareOfRun ? '' : `, ${(maxX / 1000).toFixed(1)} s`})</text>
<line x1="400" y1="290" x2="860" y2="290" stroke="#333"/><line x1="400" y1="50" x2="400" y2="290" stroke="#333"/>
${bars}
${paths}
${axes}
${legend}
${footnote}
</svg>
`;
}
