// Two small SVG charts for the overview: stacked bars and a line. Each has axes, a legend, a
// <title>/<desc> for assistive technology, and the numbers as a table beside it.
import { useEffect, useId, useRef, useState, type ReactNode, type RefObject } from 'react'
import { formatNumber } from '../format.ts'

const HEIGHT = 240
const MARGIN = { top: 12, right: 16, bottom: 30, left: 48 }

/** The width a chart has to draw in, following its container. */
function useWidth(fallback = 640): [RefObject<HTMLDivElement | null>, number] {
  const ref = useRef<HTMLDivElement>(null)
  const [width, setWidth] = useState(fallback)
  useEffect(() => {
    const element = ref.current
    if (!element) return
    setWidth(element.clientWidth || fallback)
    const observer = new ResizeObserver((entries) => {
      const next = Math.floor(entries[0]?.contentRect.width ?? fallback)
      if (next > 0) setWidth(next)
    })
    observer.observe(element)
    return () => observer.disconnect()
  }, [fallback])
  return [ref, width]
}

/** Round numbers for an axis from 0 to at least `max`. */
export function niceTicks(max: number, count = 4): number[] {
  if (max <= 0) return [0, 1]
  const rough = max / count
  const magnitude = 10 ** Math.floor(Math.log10(rough))
  const step = [1, 2, 2.5, 5, 10].map((m) => m * magnitude).find((s) => s >= rough) ?? 10 * magnitude
  const integerStep = Math.max(1, Math.round(step))
  const ticks: number[] = []
  for (let value = 0; value < max + integerStep; value += integerStep) {
    ticks.push(value)
    if (value >= max) break
  }
  return ticks
}

/** Which x labels fit without overlapping: every k-th. */
function labelStride(count: number, plotWidth: number, labelWidth: number): number {
  return Math.max(1, Math.ceil((count * labelWidth) / Math.max(plotWidth, 1)))
}

export interface Series {
  key: string
  label: string
  /** CSS class that colours the series (fill for bars, stroke for lines). */
  className: string
  values: Array<number | null>
}

interface ChartProps {
  title: string
  description: string
  /** Full label of each point, for tooltips and the table. */
  labels: string[]
  /** Short label of each point for the x axis. */
  axisLabels: string[]
  series: Series[]
  /** How a value reads (counts by default). */
  format?: (value: number) => string
}

function Legend({ series }: { series: Series[] }) {
  return (
    <ul className="legend">
      {series.map((s) => (
        <li key={s.key}>
          <span className={`legend-swatch ${s.className}`} aria-hidden="true" />
          {s.label}
        </li>
      ))}
    </ul>
  )
}

function DataTable({ title, labels, series, format, total }: { title: string; labels: string[]; series: Series[]; format: (v: number) => string; total: boolean }) {
  return (
    <details className="chart-table">
      <summary>Show the numbers</summary>
      <div className="table-scroll" role="region" aria-label={`${title}: data`} tabIndex={0}>
        <table className="table table-compact">
          <caption className="visually-hidden">{title}</caption>
          <thead>
            <tr>
              <th scope="col">Period</th>
              {series.map((s) => (
                <th scope="col" key={s.key} className="num">
                  {s.label}
                </th>
              ))}
              {total ? (
                <th scope="col" className="num">
                  Total
                </th>
              ) : null}
            </tr>
          </thead>
          <tbody>
            {labels.map((label, i) => (
              <tr key={label + i}>
                <th scope="row">{label}</th>
                {series.map((s) => {
                  const value = s.values[i]
                  return (
                    <td key={s.key} className="num">
                      {value === null || value === undefined ? '—' : format(value)}
                    </td>
                  )
                })}
                {total ? <td className="num">{format(series.reduce((sum, s) => sum + (s.values[i] ?? 0), 0))}</td> : null}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </details>
  )
}

function Frame({ title, description, children, chart }: { title: string; description: string; children: ReactNode; chart: (titleId: string, descId: string) => ReactNode }) {
  const titleId = useId()
  const descId = useId()
  return (
    <figure className="chart">
      {chart(titleId, descId)}
      <figcaption className="visually-hidden">
        {title}. {description}
      </figcaption>
      {children}
    </figure>
  )
}

function YAxis({ ticks, y, width, format }: { ticks: number[]; y: (v: number) => number; width: number; format: (v: number) => string }) {
  return (
    <g className="axis axis-y">
      {ticks.map((tick) => (
        <g key={tick} transform={`translate(0, ${y(tick)})`}>
          <line className="gridline" x1={MARGIN.left} x2={width - MARGIN.right} />
          <text x={MARGIN.left - 8} dy="0.32em" textAnchor="end">
            {format(tick)}
          </text>
        </g>
      ))}
    </g>
  )
}

function XAxis({ axisLabels, x, band, plotWidth }: { axisLabels: string[]; x: (i: number) => number; band: number; plotWidth: number }) {
  const stride = labelStride(axisLabels.length, plotWidth, 58)
  const baseline = HEIGHT - MARGIN.bottom
  return (
    <g className="axis axis-x">
      <line className="axis-line" x1={MARGIN.left} x2={MARGIN.left + plotWidth} y1={baseline} y2={baseline} />
      {axisLabels.map((label, i) =>
        i % stride === 0 ? (
          <text key={i} x={x(i) + band / 2} y={baseline + 18} textAnchor="middle">
            {label}
          </text>
        ) : null,
      )}
    </g>
  )
}

export function StackedBarChart({ title, description, labels, axisLabels, series, format = formatNumber, emptyLabel = 'No data in this period' }: ChartProps & { emptyLabel?: string }) {
  const [ref, width] = useWidth()
  const plotWidth = width - MARGIN.left - MARGIN.right
  const plotHeight = HEIGHT - MARGIN.top - MARGIN.bottom
  const totals = labels.map((_, i) => series.reduce((sum, s) => sum + (s.values[i] ?? 0), 0))
  const ticks = niceTicks(Math.max(0, ...totals))
  const top = ticks.at(-1) ?? 1
  const y = (value: number) => MARGIN.top + plotHeight - (value / top) * plotHeight
  const band = plotWidth / Math.max(labels.length, 1)
  const barWidth = Math.max(1, Math.min(40, band * 0.72))
  const x = (i: number) => MARGIN.left + i * band

  return (
    <Frame
      title={title}
      description={description}
      chart={(titleId, descId) => (
        <div ref={ref} className="chart-canvas">
          <svg role="img" aria-labelledby={titleId} aria-describedby={descId} width={width} height={HEIGHT} viewBox={`0 0 ${width} ${HEIGHT}`}>
            <title id={titleId}>{title}</title>
            <desc id={descId}>{description}</desc>
            <YAxis ticks={ticks} y={y} width={width} format={format} />
            {labels.map((label, i) => {
              let base = 0
              return (
                <g key={label + i} transform={`translate(${x(i) + (band - barWidth) / 2}, 0)`}>
                  {series.map((s) => {
                    const value = s.values[i] ?? 0
                    if (value <= 0) return null
                    const y0 = y(base)
                    base += value
                    const y1 = y(base)
                    return (
                      <rect key={s.key} className={`bar ${s.className}`} x={0} y={y1} width={barWidth} height={Math.max(0, y0 - y1)}>
                        <title>{`${label} · ${s.label}: ${format(value)}`}</title>
                      </rect>
                    )
                  })}
                </g>
              )
            })}
            <XAxis axisLabels={axisLabels} x={x} band={band} plotWidth={plotWidth} />
          </svg>
          {totals.every((t) => t === 0) ? <p className="chart-empty">{emptyLabel}</p> : null}
        </div>
      )}
    >
      <Legend series={series} />
      <DataTable title={title} labels={labels} series={series} format={format} total />
    </Frame>
  )
}

/** A line per series over values in [0, max]; a null is a gap (nothing to measure then). */
export function LineChart({ title, description, labels, axisLabels, series, format = formatNumber, max, emptyLabel = 'No data in this period' }: ChartProps & { max?: number; emptyLabel?: string }) {
  const [ref, width] = useWidth()
  const plotWidth = width - MARGIN.left - MARGIN.right
  const plotHeight = HEIGHT - MARGIN.top - MARGIN.bottom
  const values = series.flatMap((s) => s.values.filter((v): v is number => v !== null))
  const ticks = max !== undefined ? [0, 0.25, 0.5, 0.75, 1].map((f) => f * max) : niceTicks(Math.max(0, ...values))
  const top = ticks.at(-1) ?? 1
  const y = (value: number) => MARGIN.top + plotHeight - (value / top) * plotHeight
  const band = plotWidth / Math.max(labels.length, 1)
  const x = (i: number) => MARGIN.left + i * band
  const cx = (i: number) => x(i) + band / 2

  return (
    <Frame
      title={title}
      description={description}
      chart={(titleId, descId) => (
        <div ref={ref} className="chart-canvas">
          <svg role="img" aria-labelledby={titleId} aria-describedby={descId} width={width} height={HEIGHT} viewBox={`0 0 ${width} ${HEIGHT}`}>
            <title id={titleId}>{title}</title>
            <desc id={descId}>{description}</desc>
            <YAxis ticks={ticks} y={y} width={width} format={format} />
            {series.map((s) => {
              // One path with a move at each gap, so a period without data breaks the line.
              let d = ''
              let drawing = false
              s.values.forEach((value, i) => {
                if (value === null) {
                  drawing = false
                  return
                }
                d += `${drawing ? 'L' : 'M'}${cx(i).toFixed(1)},${y(value).toFixed(1)}`
                drawing = true
              })
              return (
                <g key={s.key} className={`line-series ${s.className}`}>
                  {d ? <path className="line" d={d} /> : null}
                  {s.values.map((value, i) =>
                    value === null ? null : (
                      <circle key={i} className="point" cx={cx(i)} cy={y(value)} r={labels.length > 60 ? 1.5 : 3}>
                        <title>{`${labels[i]} · ${s.label}: ${format(value)}`}</title>
                      </circle>
                    ),
                  )}
                </g>
              )
            })}
            <XAxis axisLabels={axisLabels} x={x} band={band} plotWidth={plotWidth} />
          </svg>
          {values.length === 0 ? <p className="chart-empty">{emptyLabel}</p> : null}
        </div>
      )}
    >
      <Legend series={series} />
      <DataTable title={title} labels={labels} series={series} format={format} total={false} />
    </Frame>
  )
}
