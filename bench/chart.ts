// A small SVG chart: throughput per variant (bars) and RSS over time for a vs c (lines). Hand-written:
// the chart libraries for Node need a native canvas or a browser, which this step should not.
const W = 900;
const H = 400;
const esc = (s: string) => s.replace(/[<>&]/g, (c) => `&#${c.charCodeAt(0)};`);

/** Per variant: its median throughput and the run whose RSS samples are drawn. */
export type ChartResults = Record<string, { throughput: number; sample: { rss: [number, number][] } }>;

export function chartSvg(results: ChartResults, variants: Record<string, { label: string }>): string {
  const keys = Object.keys(results);
  const maxT = Math.max(...keys.map((k) => results[k]!.throughput));
  const barW = 300 / keys.length;
  const bars = keys
    .map((k, i) => {
      const h = (results[k]!.throughput / maxT) * 240;
      const x = 40 + i * barW;
      return `<rect x="${x}" y="${290 - h}" width="${barW - 10}" height="${h}" fill="${k === 'c' ? '#2b7' : k === 'a' ? '#d54' : '#89a'}"/>
<text x="${x + (barW - 10) / 2}" y="${284 - h}" text-anchor="middle" font-size="12">${results[k]!.throughput.toFixed(2)}</text>
<text x="${x + (barW - 10) / 2}" y="306" text-anchor="middle" font-size="12">${k}</text>`;
    })
    .join('\n');
  const series = ['a', 'c'].filter((k) => results[k]).map((k) => ({ k, pts: results[k]!.sample.rss }));
  const maxX = Math.max(...series.flatMap((s) => s.pts.map((p) => p[0])), 1);
  const maxY = Math.max(...series.flatMap((s) => s.pts.map((p) => p[1])), 1);
  const lines = series
    .map(({ k, pts }) => {
      const d = pts.map(([t, r], i) => `${i ? 'L' : 'M'}${(400 + (t / maxX) * 460).toFixed(1)},${(290 - (r / maxY) * 240).toFixed(1)}`).join(' ');
      return `<path d="${d}" fill="none" stroke="${k === 'c' ? '#2b7' : '#d54'}" stroke-width="2"/>`;
    })
    .join('\n');
  const legend = series
    .map(({ k }, i) => `<text x="400" y="${322 + i * 16}" font-size="12" fill="${k === 'c' ? '#2b7' : '#d54'}">${esc(variants[k]!.label)}</text>`)
    .join('\n');
  const axes = `<text x="395" y="54" text-anchor="end" font-size="11">${(maxY / 2 ** 20).toFixed(0)} MiB</text>
<text x="395" y="294" text-anchor="end" font-size="11">0</text>
<text x="860" y="306" text-anchor="end" font-size="11">${(maxX / 1000).toFixed(1)} s</text>`;
  const names = Object.keys(results).map((k) => esc(variants[k]!.label));
  const footnote = [names.slice(0, 3), names.slice(3)]
    .map((row, i) => `<text x="40" y="${368 + i * 16}" font-size="11">${row.join(' · ')}</text>`)
    .join('\n');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif">
<rect width="${W}" height="${H}" fill="white"/>
<text x="40" y="30" font-size="15">Throughput, GiB/s (median)</text>
<text x="400" y="30" font-size="15">Client RSS over one run (peak ${(maxY / 2 ** 20).toFixed(0)} MiB, ${(maxX / 1000).toFixed(1)} s)</text>
<line x1="400" y1="290" x2="860" y2="290" stroke="#333"/><line x1="400" y1="50" x2="400" y2="290" stroke="#333"/>
${bars}
${lines}
${axes}
${legend}
${footnote}
</svg>
`;
}
