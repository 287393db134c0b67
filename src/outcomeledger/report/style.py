"""The report's stylesheet, inlined into every page (a file needs no fetch to render).

Colours keep text contrast at WCAG AA or better (dark text on light tints); ratings
are always written out, never shown by colour alone.
"""

CSS = """
:root { color-scheme: light; --ink: #1a1a1a; --muted: #4a4a4a; --rule: #c9c9c9;
  --head: #e9eef6; --accent: #1f4e9c; }
* { box-sizing: border-box; }
body { margin: 0 auto; max-width: 72rem; padding: 1.5rem; color: var(--ink);
  background: #fff; font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto,
  "Helvetica Neue", Arial, sans-serif; }
h1 { font-size: 1.7rem; margin: .2rem 0 .4rem; line-height: 1.25; }
h2 { font-size: 1.3rem; margin: 2rem 0 .6rem; padding-top: .6rem;
  border-top: 3px solid var(--accent); }
.kicker { margin: 0; text-transform: uppercase; letter-spacing: .06em; font-size: .8rem;
  color: var(--muted); }
.lead { color: var(--muted); margin-top: 0; }
a { color: var(--accent); }
code { font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace;
  overflow-wrap: anywhere;
  font-size: .85em; }
.hash { word-break: break-all; }
.figures { display: grid; grid-template-columns: repeat(auto-fit, minmax(11rem, 1fr));
  gap: .6rem; margin: 1rem 0; }
.figures div { border: 1px solid var(--rule); border-radius: 4px; padding: .5rem .7rem; }
.figures dt { font-size: .8rem; color: var(--muted); }
.figures dd { margin: .15rem 0 0; font-size: 1.15rem; font-weight: 600;
  font-variant-numeric: tabular-nums; }
.figures .rating { white-space: normal; }
nav ol { display: flex; flex-wrap: wrap; gap: .3rem 1.2rem; list-style: none;
  padding: .6rem 0; margin: 0; border-bottom: 1px solid var(--rule); }
.scroll { overflow-x: auto; margin: .8rem 0 1.2rem; }
table { border-collapse: collapse; width: 100%; font-size: .85rem; }
caption { text-align: left; font-weight: 600; padding: .3rem 0; }
th, td { border-bottom: 1px solid var(--rule); padding: .3rem .5rem; text-align: left;
  vertical-align: top; }
thead th { background: var(--head); }
tbody th { font-weight: 600; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums;
  white-space: nowrap; }
td.none { color: var(--muted); }
.rating { display: inline-block; padding: 0 .45rem; border-radius: 3px; font-weight: 600;
  white-space: nowrap; border: 1px solid currentColor; }
.r-good { background: #dcf1e1; color: #0b3d17; }
.r-approaching-target { background: #fff1c2; color: #4a3500; }
.r-requires-improvement { background: #ffe0c4; color: #5a2800; }
.r-inadequate { background: #f9d3d3; color: #5c0010; }
.r-other { background: #ececec; color: #262626; }
.chart { margin: 1rem 0; }
.chart-narrow { display: none; }
@media screen and (max-width: 40rem) {
  .chart-wide { display: none; }
  .chart-narrow { display: block; }
}
.chart-svg { height: auto; font-family: system-ui, sans-serif; }
figcaption { font-size: .85rem; color: var(--muted); }
.empty { color: var(--muted); font-style: italic; }
footer { margin-top: 2rem; border-top: 1px solid var(--rule); }
.provenance { color: var(--muted); font-size: .8rem; overflow-wrap: anywhere; }
@page { size: A4; margin: 14mm; }
@media print {
  body { max-width: none; padding: 0; font-size: 10pt; }
  nav { display: none; }
  h2 { break-after: avoid; }
  tr, .chart, .figures div { break-inside: avoid; }
  .scroll { overflow: visible; }
  table { font-size: 7.5pt; }
  th, td { padding: .1rem .25rem; overflow-wrap: anywhere; }
  td.num { white-space: normal; }
  thead { display: table-header-group; }
  a { color: inherit; text-decoration: none; }
  .rating { border-width: 1px; }
}
"""
