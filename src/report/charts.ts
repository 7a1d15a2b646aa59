import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

/**
 * Time-series charts drawn with uPlot, for self-contained HTML pages (the replay report; a dashboard
 * later). The page carries uPlot itself, the data as JSON and `drawCharts` below: nothing is fetched
 * when it is viewed. `drawCharts` runs in the browser, so it must not use anything from this module's
 * scope (it is inlined by its source text).
 */

/** A vertical marker across a chart, e.g. a decision. */
export interface ChartMark {
  /** Seconds since the epoch. */
  t: number;
  label: string;
  color: string;
  /** Line width in CSS pixels; default 2. */
  width?: number;
}

export interface ChartLine {
  label: string;
  color: string;
  values: Array<number | null>;
  /** Dashed, for bounds rather than measurements. */
  dash?: boolean;
  /** Points only, no line: e.g. the values of failed checks drawn over the measured line. */
  pointsOnly?: boolean;
}

export interface ChartSpec {
  id: string;
  title: string;
  subtitle?: string;
  /** Seconds since the epoch, one per value of every line. */
  x: number[];
  lines: ChartLine[];
  marks: ChartMark[];
  unit?: string;
}

/** The uPlot script and stylesheet, read from the installed package when a page is written. */
export function uplotAssets(): { js: string; css: string } {
  const require = createRequire(import.meta.url);
  const main = require.resolve('uplot');
  const dist = main.slice(0, main.lastIndexOf('/'));
  return { js: readFileSync(`${dist}/uPlot.iife.min.js`, 'utf8'), css: readFileSync(`${dist}/uPlot.min.css`, 'utf8') };
}

/** JSON safe inside a <script> element. */
export function scriptJson(value: unknown): string {
  return JSON.stringify(value).replace(/</g, '\\u003c').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
}

/** The <style> and <script> elements that draw `charts` into the element with id `rootId`. */
export function chartElements(charts: readonly ChartSpec[], rootId: string): string {
  const { js, css } = uplotAssets();
  return [
    `<style>${css}\n.rs-chart{margin:1.5em 0}.rs-chart h3{margin:.2em 0;font:600 15px system-ui,sans-serif}.rs-chart p{margin:.1em 0 .4em;color:#555;font:13px system-ui,sans-serif}</style>`,
    `<script>${js}</script>`,
    `<script>(${drawCharts.toString()})(document.getElementById(${JSON.stringify(rootId)}), ${scriptJson(charts)}, uPlot);</script>`,
  ].join('\n');
}

// The few DOM types drawCharts uses (the project compiles without the DOM library).
interface Element {
  className: string;
  id: string;
  textContent: string | null;
  clientWidth: number;
  appendChild(child: Element): void;
}
interface Canvas2D {
  strokeStyle: string;
  lineWidth: number;
  save(): void;
  restore(): void;
  beginPath(): void;
  moveTo(x: number, y: number): void;
  lineTo(x: number, y: number): void;
  stroke(): void;
}
declare const document: { createElement(tag: string): Element };

/** Browser code: one uPlot chart per spec, with marks as vertical lines and coloured points. */
export function drawCharts(root: Element, charts: ChartSpec[], UPlot: new (opts: object, data: unknown[], target: Element) => unknown): void {
  const width = Math.max(600, Math.min(1400, (root.clientWidth || 1000) - 10));
  for (const c of charts) {
    const box = document.createElement('div');
    box.className = 'rs-chart';
    box.id = c.id;
    const h = document.createElement('h3');
    h.textContent = c.title;
    box.appendChild(h);
    if (c.subtitle) {
      const p = document.createElement('p');
      p.textContent = c.subtitle;
      box.appendChild(p);
    }
    root.appendChild(box);
    const marksPlugin = {
      hooks: {
        draw: [
          (u: { ctx: Canvas2D; bbox: { top: number; height: number }; valToPos: (v: number, s: string, c: boolean) => number }) => {
            const ctx = u.ctx;
            ctx.save();
            for (const m of c.marks) {
              ctx.lineWidth = m.width ?? 2;
              const x = Math.round(u.valToPos(m.t, 'x', true));
              ctx.strokeStyle = m.color;
              ctx.beginPath();
              ctx.moveTo(x, u.bbox.top);
              ctx.lineTo(x, u.bbox.top + u.bbox.height);
              ctx.stroke();
            }
            ctx.restore();
          },
        ],
      },
    };
    const series: object[] = [{}];
    for (const line of c.lines) {
      series.push({
        label: line.label,
        stroke: line.color,
        width: line.pointsOnly ? 0 : line.dash ? 1.5 : 1.2,
        dash: line.dash ? [6, 4] : undefined,
        spanGaps: false,
        points: line.pointsOnly ? { show: true, size: 7, fill: line.color, stroke: line.color } : { show: false },
      });
    }
    const opts = {
      width,
      height: 260,
      series,
      scales: { x: { time: true } },
      axes: [{}, { label: c.unit ?? '', size: 60 }],
      legend: { live: true },
      plugins: [marksPlugin],
    };
    new UPlot(opts, [c.x, ...c.lines.map((l) => l.values)], box);
  }
}
