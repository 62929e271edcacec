-- The daily series by hand (bench/analytics.py's raw side of the API's 365-day GMV series): the orders
-- table grouped by pay day in the merchant's time zone, every day present (zero-filled), with what the
-- DailyMerchant rollup keeps for it: orders, goods amount and refunded, of all orders and of those
-- attributed to a distributor (the series' gmv). Parameters: m (merchant), tz (its time zone), first and
-- last (the pay days), start and end (first's midnight and the midnight after last, in tz).
SELECT d.day::date AS day,
       coalesce(o.orders, 0) AS orders, coalesce(o.gmv, 0) AS gmv, coalesce(o.refunded, 0) AS refunded,
       coalesce(o.distributed_orders, 0) AS distributed_orders, coalesce(o.distributed_gmv, 0) AS distributed_gmv,
       coalesce(o.distributed_refunded, 0) AS distributed_refunded
  FROM generate_series(%(first)s::date, %(last)s::date, interval '1 day') d(day)
  LEFT JOIN (
      SELECT (paid_at AT TIME ZONE %(tz)s)::date AS day, count(*) AS orders, sum(goods_amount) AS gmv,
             sum(refunded_amount) AS refunded,
             count(*) FILTER (WHERE distributor_id IS NOT NULL) AS distributed_orders,
             sum(goods_amount) FILTER (WHERE distributor_id IS NOT NULL) AS distributed_gmv,
             sum(refunded_amount) FILTER (WHERE distributor_id IS NOT NULL) AS distributed_refunded
        FROM orders_order
       WHERE merchant_id = %(m)s AND paid_at >= %(start)s AND paid_at < %(end)s
       GROUP BY 1) o ON o.day = d.day::date
 ORDER BY 1
