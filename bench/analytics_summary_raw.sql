-- The 30-day summary by hand (bench/analytics.py's raw side of GET /api/v1/analytics/summary), on the base
-- tables, for the range and the equal-length period before it (what 环比 compares with): the orders paid in
-- each (all and distributed: orders, goods amount, refunded, completed), their commission by state, distinct
-- buyers (distributed and all), returning buyers (an earlier order exists; new = all - returning), active
-- distributors (an attributed order), share visits, distributors activated and applications submitted.
-- Parameters: m (merchant), prev_start, start, end (midnights in the merchant's time zone: the previous
-- period is [prev_start, start), the range [start, end)).
WITH p (period, lo, hi) AS (
    VALUES ('current', %(start)s::timestamptz, %(end)s::timestamptz),
           ('previous', %(prev_start)s::timestamptz, %(start)s::timestamptz)),
o AS (
    SELECT p.period, p.lo, o.id, o.customer_external_id, o.distributor_id, o.goods_amount, o.refunded_amount,
           o.status
      FROM orders_order o JOIN p ON o.paid_at >= p.lo AND o.paid_at < p.hi
     WHERE o.merchant_id = %(m)s),
figures AS (
    SELECT period, count(*) AS all_orders, sum(goods_amount) AS all_gmv, sum(refunded_amount) AS all_refunded,
           count(*) FILTER (WHERE distributor_id IS NOT NULL) AS orders,
           coalesce(sum(goods_amount) FILTER (WHERE distributor_id IS NOT NULL), 0) AS gmv,
           coalesce(sum(refunded_amount) FILTER (WHERE distributor_id IS NOT NULL), 0) AS refunded,
           count(*) FILTER (WHERE distributor_id IS NOT NULL AND status = 'completed') AS completed_orders,
           count(DISTINCT customer_external_id) FILTER (WHERE distributor_id IS NOT NULL) AS buyers,
           count(DISTINCT customer_external_id) AS all_buyers,
           count(DISTINCT distributor_id) AS active_distributors
      FROM o GROUP BY period),
returners AS (
    SELECT c.period, count(*) AS returning_buyers
      FROM (SELECT DISTINCT period, lo, customer_external_id FROM o) c
     WHERE EXISTS (SELECT 1 FROM orders_order e
                    WHERE e.merchant_id = %(m)s AND e.customer_external_id = c.customer_external_id
                      AND e.paid_at < c.lo)
     GROUP BY c.period),
commission AS (
    SELECT o.period,
           sum(CASE WHEN l.kind = 'commission' THEN l.amount ELSE 0 END) AS accrued,
           sum(CASE WHEN l.kind = 'commission' AND l.status = 'pending' THEN l.amount - l.reversed_amount ELSE 0 END)
               AS pending,
           sum(CASE WHEN l.kind = 'commission' AND l.status = 'confirmed' THEN l.amount - l.reversed_amount ELSE 0 END)
               AS confirmed,
           sum(CASE WHEN l.kind = 'commission' AND l.status = 'settled' THEN l.amount - l.reversed_amount ELSE 0 END)
               AS settled,
           sum(CASE WHEN l.kind = 'commission' THEN l.reversed_amount ELSE 0 END) AS reversed,
           sum(CASE WHEN l.kind = 'clawback' THEN -l.amount ELSE 0 END) AS clawed_back
      FROM commissions_commissionline l JOIN o ON o.id = l.order_id
     WHERE l.merchant_id = %(m)s
     GROUP BY o.period),
visits AS (
    SELECT p.period, count(*) AS visits
      FROM distributors_sharevisit v JOIN p ON v.visited_at >= p.lo AND v.visited_at < p.hi
     WHERE v.merchant_id = %(m)s GROUP BY p.period),
joined AS (
    SELECT p.period, count(*) AS new_distributors
      FROM distributors_distributor d JOIN p ON d.activated_at >= p.lo AND d.activated_at < p.hi
     WHERE d.merchant_id = %(m)s GROUP BY p.period),
applied AS (
    SELECT p.period, count(*) AS applications, count(*) FILTER (WHERE a.status = 'approved') AS approved,
           count(*) FILTER (WHERE a.status = 'rejected') AS rejected
      FROM distributors_application a JOIN p ON a.created_at >= p.lo AND a.created_at < p.hi
     WHERE a.merchant_id = %(m)s GROUP BY p.period)
SELECT p.period, f.*, coalesce(r.returning_buyers, 0) AS returning_buyers,
       coalesce(f.all_buyers, 0) - coalesce(r.returning_buyers, 0) AS new_buyers,
       c.accrued, c.pending, c.confirmed, c.settled, c.reversed, c.clawed_back,
       coalesce(v.visits, 0) AS visits, coalesce(j.new_distributors, 0) AS new_distributors,
       coalesce(a.applications, 0) AS applications, coalesce(a.approved, 0) AS approved,
       coalesce(a.rejected, 0) AS rejected
  FROM p
  LEFT JOIN figures f USING (period) LEFT JOIN returners r USING (period) LEFT JOIN commission c USING (period)
  LEFT JOIN visits v USING (period) LEFT JOIN joined j USING (period) LEFT JOIN applied a USING (period)
 ORDER BY p.period
