// Two small SVG charts for the overview: stacked bars and a line. Each has axes, a legend, a
// <title>/<desc> for assistive technology, and the numbers as a table beside it.
import { useEffect, useId, useRef, useState, type ReactNode, type RefObject } from 'react'
import { formatNumber } from '../format.ts'
import { TableScroll } from './ui.tsx'

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
  /** Over the plot when there is nothing to draw. */
  emptyLabel?: string
}

/** Where a chart draws: the left edge of point i's band, a value's height, and a band's width. */
interface Scale {
  x(i: number): number
  y(value: number): number
  band: number
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

/** The chart's numbers as a table, folded away under it. */
function NumbersTable({ title, labels, series, format, total }: { title: string; labels: string[]; series: Series[]; format: (v: number) => string; total: boolean }) {
  return (
    <details className="chart-table">
      <summary>Show the numbers</summary>
      <TableScroll label={`${title}: data`}>
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
      </TableScroll>
    </details>
  )
}

/** Gridlines and their values up the left, and the x axis with as many labels as fit under the plot. */
function Axes({ ticks, scale, width, axisLabels, format, children }: { ticks: number[]; scale: Scale; width: number; axisLabels: string[]; format: (v: number) => string; children: ReactNode }) {
  const plotWidth = width - MARGIN.left - MARGIN.right
  const stride = labelStride(axisLabels.length, plotWidth, 58)
  const baseline = HEIGHT - MARGIN.bottom
  return (
    <>
      <g className="axis axis-y">
        {ticks.map((tick) => (
          <g key={tick} transform={`translate(0, ${scale.y(tick)})`}>
            <line className="gridline" x1={MARGIN.left} x2={width - MARGIN.right} />
            <text x={MARGIN.left - 8} dy="0.32em" textAnchor="end">
              {format(tick)}
            </text>
          </g>
        ))}
      </g>
      {/* The data between the gridlines and the x axis line, which is drawn over it. */}
      {children}
      <g className="axis axis-x">
        <line className="axis-line" x1={MARGIN.left} x2={MARGIN.left + plotWidth} y1={baseline} y2={baseline} />
        {axisLabels.map((label, i) =>
          i % stride === 0 ? (
            <text key={i} x={scale.x(i) + scale.band / 2} y={baseline + 18} textAnchor="middle">
              {label}
            </text>
          ) : null,
        )}
      </g>
    </>
  )
}

/**
 * What both charts share: the SVG at the container's width with its title and description, the
 * axes for `ticks` (the last is the top), what `plot` draws, the empty note, the legend and the
 * numbers.
 */
function Chart({
  title,
  description,
  labels,
  axisLabels,
  series,
  format,
  emptyLabel = 'No data in this period',
  ticks,
  empty,
  total,
  plot,
}: ChartProps & { format: (value: number) => string; ticks: number[]; empty: boolean; total: boolean; plot(scale: Scale): ReactNode }) {
  const [ref, width] = useWidth()
  const titleId = useId()
  const descId = useId()
  const plotWidth = width - MARGIN.left - MARGIN.right
  const plotHeight = HEIGHT - MARGIN.top - MARGIN.bottom
  const top = ticks.at(-1) ?? 1
  const band = plotWidth / Math.max(labels.length, 1)
  const scale: Scale = {
    x: (i) => MARGIN.left + i * band,
    y: (value) => MARGIN.top + plotHeight - (value / top) * plotHeight,
    band,
  }
  return (
    <figure className="chart">
      <div ref={ref} className="chart-canvas">
        <svg role="img" aria-labelledby={titleId} aria-describedby={descId} width={width} height={HEIGHT} viewBox={`0 0 ${width} ${HEIGHT}`}>
          <title id={titleId}>{title}</title>
          <desc id={descId}>{description}</desc>
          <Axes ticks={ticks} scale={scale} width={width} axisLabels={axisLabels} format={format}>
            {plot(scale)}
          </Axes>
        </svg>
        {empty ? <p className="chart-empty">{emptyLabel}</p> : null}
      </div>
      <figcaption className="visually-hidden">
        {title}. {description}
      </figcaption>
      <Legend series={series} />
      <NumbersTable title={title} labels={labels} series={series} format={format} total={total} />
    </figure>
  )
}

export function StackedBarChart({ format = formatNumber, ...props }: ChartProps) {
  const { labels, series } = props
  const totals = labels.map((_, i) => series.reduce((sum, s) => sum + (s.values[i] ?? 0), 0))
  return (
    <Chart
      {...props}
      format={format}
      ticks={niceTicks(Math.max(0, ...totals))}
      empty={totals.every((t) => t === 0)}
      total
      plot={({ x, y, band }) => {
        const barWidth = Math.max(1, Math.min(40, band * 0.72))
        return labels.map((label, i) => {
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
        })
      }}
    />
  )
}

/** A line per series over values in [0, max]; a null is a gap (nothing to measure then). */
export function LineChart({ format = formatNumber, max, ...props }: ChartProps & { max?: number }) {
  const { labels, series } = props
  const values = series.flatMap((s) => s.values.filter((v): v is number => v !== null))
  return (
    <Chart
      {...props}
      format={format}
      ticks={max !== undefined ? [0, 0.25, 0.5, 0.75, 1].map((f) => f * max) : niceTicks(Math.max(0, ...values))}
      empty={values.length === 0}
      total={false}
      plot={({ x, y, band }) => {
        const cx = (i: number) => x(i) + band / 2
        return series.map((s) => {
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
        })
      }}
    />
  )
}
