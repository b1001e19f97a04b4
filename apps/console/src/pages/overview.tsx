// What happened lately: tracked actions by outcome, and how challenges ended.
import { useState } from 'react'
import type { StatsResponse } from '@countersign/protocol'
import { LineChart, StackedBarChart } from '../components/charts.tsx'
import { Failure, Loading, PageHeader, Section } from '../components/ui.tsx'
import { formatNumber, formatPercent, OUTCOMES, outcomeLabel } from '../format.ts'
import { useApi } from '../use-resource.ts'

const RANGES = [
  { id: '24h', label: 'Last 24 hours', days: 1, interval: 'hour' },
  { id: '7d', label: 'Last 7 days', days: 7, interval: 'day' },
  { id: '14d', label: 'Last 14 days', days: 14, interval: 'day' },
  { id: '30d', label: 'Last 30 days', days: 30, interval: 'day' },
  { id: '90d', label: 'Last 90 days', days: 90, interval: 'day' },
] as const

const dayLabel = new Intl.DateTimeFormat(undefined, { month: 'short', day: 'numeric', timeZone: 'UTC' })
const dayFull = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeZone: 'UTC' })
const hourLabel = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' })
const hourFull = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' })

/** Challenges that ended well, of those that ended; null when none ended. */
function successRate(succeeded: number, failed: number): number | null {
  return succeeded + failed === 0 ? null : succeeded / (succeeded + failed)
}

export function OverviewPage() {
  const [rangeId, setRangeId] = useState<(typeof RANGES)[number]['id']>('14d')
  const range = RANGES.find((r) => r.id === rangeId) ?? RANGES[2]
  const stats = useApi<StatsResponse>('/stats', { days: range.days, interval: range.interval })

  return (
    <>
      <PageHeader
        title="Overview"
        description="Tracked actions and challenges in this tenant."
        actions={
          <div className="field field-inline">
            <label htmlFor="overview-range">Period</label>
            <select id="overview-range" className="select" value={rangeId} onChange={(e) => setRangeId(e.target.value as typeof rangeId)}>
              {RANGES.map((r) => (
                <option key={r.id} value={r.id}>
                  {r.label}
                </option>
              ))}
            </select>
          </div>
        }
      />
      <Failure error={stats.error} />
      {stats.loading && !stats.data ? <Loading /> : null}
      {stats.data ? <OverviewCharts stats={stats.data} rangeLabel={range.label} /> : null}
    </>
  )
}

function OverviewCharts({ stats, rangeLabel }: { stats: StatsResponse; rangeLabel: string }) {
  const buckets = stats.buckets
  const daily = stats.interval === 'day'
  const labels = buckets.map((b) => (daily ? dayFull : hourFull).format(new Date(b.start)))
  const axisLabels = buckets.map((b) => (daily ? dayLabel : hourLabel).format(new Date(b.start)))

  const sum = (pick: (b: (typeof buckets)[number]) => number) => buckets.reduce((total, b) => total + pick(b), 0)
  const total = sum((b) => b.outcomes.ALLOW + b.outcomes.CHALLENGE + b.outcomes.REVIEW + b.outcomes.BLOCK)
  const challenged = sum((b) => b.outcomes.CHALLENGE)
  const blocked = sum((b) => b.outcomes.BLOCK)
  const succeeded = sum((b) => b.challenges.succeeded)
  const failed = sum((b) => b.challenges.failed)
  const open = sum((b) => b.challenges.open)
  const rate = successRate(succeeded, failed)

  const outcomeSeries = OUTCOMES.map((outcome) => ({
    key: outcome,
    label: outcomeLabel[outcome],
    className: `series-${outcome.toLowerCase()}`,
    values: buckets.map((b) => b.outcomes[outcome]),
  }))
  const rateSeries = [{ key: 'rate', label: 'Challenge success rate', className: 'series-rate', values: buckets.map((b) => successRate(b.challenges.succeeded, b.challenges.failed)) }]
  const periodWord = daily ? 'day (UTC)' : 'hour'

  return (
    <>
      <dl className="stat-grid">
        <div className="stat">
          <dt>Actions tracked</dt>
          <dd>{formatNumber(total)}</dd>
        </div>
        <div className="stat">
          <dt>Challenged</dt>
          <dd>
            {formatNumber(challenged)}
            <span className="stat-note">{total > 0 ? formatPercent(challenged / total) : ''}</span>
          </dd>
        </div>
        <div className="stat">
          <dt>Challenge success</dt>
          <dd>
            {formatPercent(rate)}
            <span className="stat-note">
              {formatNumber(succeeded)} of {formatNumber(succeeded + failed)}
              {open > 0 ? ` · ${formatNumber(open)} open` : ''}
            </span>
          </dd>
        </div>
        <div className="stat">
          <dt>Blocked</dt>
          <dd>{formatNumber(blocked)}</dd>
        </div>
      </dl>
      <Section title="Actions by outcome" description={`What track decided, per ${periodWord}, ${rangeLabel.toLowerCase()}.`}>
        <StackedBarChart
          title="Actions by outcome"
          description={`Stacked bars: tracked actions per ${periodWord} split into allowed, challenged, sent to review and blocked. ${formatNumber(total)} in total, ${formatNumber(challenged)} challenged and ${formatNumber(blocked)} blocked.`}
          labels={labels}
          axisLabels={axisLabels}
          series={outcomeSeries}
          emptyLabel="No actions tracked in this period"
        />
      </Section>
      <Section title="Challenge success rate" description={`Challenges that succeeded, of those that succeeded or failed, per ${periodWord}. Gaps are periods without finished challenges.`}>
        <LineChart
          title="Challenge success rate"
          description={`Line: share of finished challenges that succeeded, per ${periodWord}. Over the period: ${formatPercent(rate)} (${formatNumber(succeeded)} succeeded, ${formatNumber(failed)} failed, ${formatNumber(open)} still open or expired unanswered).`}
          labels={labels}
          axisLabels={axisLabels}
          series={rateSeries}
          max={1}
          emptyLabel="No challenge succeeded or failed in this period"
          format={(v) => `${Math.round(v * 100)}%`}
        />
      </Section>
    </>
  )
}
