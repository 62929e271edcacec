-- A year of one merchant's DailyMerchant rows by hand (bench/analytics.py's raw side of
-- analytics.refresh.rebuild_merchant), one INSERT ... SELECT from the base tables, after the year's rows
-- were deleted in the same transaction: per pay day in the merchant's time zone, the orders paid that day
-- (all and attributed to a distributor: orders, goods amount, refunded, distinct buyers, completed), their
-- commission lines by state (accrued = pending + confirmed + settled + reversed; clawbacks positive) and the
-- share visits made that day; a day with neither orders nor visits has no row.
-- Parameters: m (merchant), tz (its time zone), start and end (the first day's midnight and the midnight
-- after the last, in tz).
INSERT INTO analytics_dailymerchant (
    merchant_id, day, orders, gmv, refunded, commission_accrued, commission_pending, commission_confirmed,
    commission_settled, commission_reversed, commission_clawed_back, distributed_orders, distributed_gmv,
    distributed_refunded, buyers, distributed_buyers, completed_orders, distributed_completed_orders, visits)
WITH o AS (
    SELECT id, (paid_at AT TIME ZONE %(tz)s)::date AS day, customer_external_id, goods_amount, refunded_amount,
           status, distributor_id IS NOT NULL AS distributed
      FROM orders_order
     WHERE merchant_id = %(m)s AND paid_at >= %(start)s AND paid_at < %(end)s),
orders AS (
    SELECT day, count(*) AS orders, sum(goods_amount) AS gmv, sum(refunded_amount) AS refunded,
           count(*) FILTER (WHERE distributed) AS distributed_orders,
           coalesce(sum(goods_amount) FILTER (WHERE distributed), 0) AS distributed_gmv,
           coalesce(sum(refunded_amount) FILTER (WHERE distributed), 0) AS distributed_refunded,
           count(DISTINCT customer_external_id) AS buyers,
           count(DISTINCT customer_external_id) FILTER (WHERE distributed) AS distributed_buyers,
           count(*) FILTER (WHERE status = 'completed') AS completed_orders,
           count(*) FILTER (WHERE status = 'completed' AND distributed) AS distributed_completed_orders
      FROM o GROUP BY day),
commission AS (
    SELECT o.day,
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
     GROUP BY o.day),
visits AS (
    SELECT (visited_at AT TIME ZONE %(tz)s)::date AS day, count(*) AS visits
      FROM distributors_sharevisit
     WHERE merchant_id = %(m)s AND visited_at >= %(start)s AND visited_at < %(end)s
     GROUP BY 1)
SELECT %(m)s, d.day, coalesce(o.orders, 0), coalesce(o.gmv, 0), coalesce(o.refunded, 0),
       coalesce(c.accrued, 0), coalesce(c.pending, 0), coalesce(c.confirmed, 0), coalesce(c.settled, 0),
       coalesce(c.reversed, 0), coalesce(c.clawed_back, 0), coalesce(o.distributed_orders, 0),
       coalesce(o.distributed_gmv, 0), coalesce(o.distributed_refunded, 0), coalesce(o.buyers, 0),
       coalesce(o.distributed_buyers, 0), coalesce(o.completed_orders, 0),
       coalesce(o.distributed_completed_orders, 0), coalesce(v.visits, 0)
  FROM (SELECT day FROM orders UNION SELECT day FROM visits) d
  LEFT JOIN orders o USING (day) LEFT JOIN commission c USING (day) LEFT JOIN visits v USING (day)
