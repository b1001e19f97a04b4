import { describe, expect, it } from 'vitest'
import { planOf } from './growth-data.ts'

describe('planOf', () => {
  it('lists the indexes and whole-table reads of an EXPLAIN ANALYZE text plan, and its times', () => {
    const plan = planOf('verify', [
      'Nested Loop  (cost=35.19..43.86 rows=2 width=489) (actual time=0.119..0.123 rows=1 loops=1)',
      '  ->  Index Scan using credentials_spki_hash_idx on credentials c  (cost=0.42..8.44 rows=1 width=7)',
      '  ->  Index Only Scan Backward using actions_user_created_idx on actions a  (cost=0.55..8.58 rows=1 width=0)',
      '  ->  Bitmap Index Scan on webhook_endpoints_tenant_id_webhook_id_pk  (cost=0.00..4.16 rows=2 width=0)',
      '  ->  Index Scan using credentials_spki_hash_idx on credentials c_1  (cost=0.42..8.44 rows=1 width=7)',
      '  ->  Seq Scan on webhook_events  (cost=0.00..1.01 rows=1 width=16)',
      'Planning Time: 0.267 ms',
      'Execution Time: 0.338 ms',
    ])
    expect(plan.indexes).toEqual(['credentials_spki_hash_idx', 'actions_user_created_idx', 'webhook_endpoints_tenant_id_webhook_id_pk'])
    expect(plan.sequentialScans).toEqual(['webhook_events'])
    expect(plan.planningMs).toBe(0.267)
    expect(plan.executionMs).toBe(0.338)
  })
})
