-- The top 20 distributors by GMV by hand (bench/analytics.py's raw side of the API's 30-day leaderboard),
-- on the base tables: the orders attributed to each distributor and paid in the range (gmv, orders,
-- refunded), best first, ties by id; then for those 20 their name, the commission they keep on the range's
-- orders at any depth (accrued - reversed - clawed back) and their share visits in the range.
-- Parameters: m (merchant), start and end (the range's first midnight and the midnight after its last day,
-- in the merchant's time zone).
WITH top AS (
    SELECT distributor_id AS id, sum(goods_amount) AS gmv, count(*) AS orders, sum(refunded_amount) AS refunded
      FROM orders_order
     WHERE merchant_id = %(m)s AND distributor_id IS NOT NULL AND paid_at >= %(start)s AND paid_at < %(end)s
     GROUP BY 1
     ORDER BY gmv DESC, id
     LIMIT 20)
SELECT t.id, d.display_name, t.gmv, t.orders, t.refunded,
       (SELECT coalesce(sum(CASE WHEN l.kind = 'commission' THEN l.amount - l.reversed_amount ELSE l.amount END), 0)
          FROM commissions_commissionline l JOIN orders_order o ON o.id = l.order_id
         WHERE l.merchant_id = %(m)s AND l.beneficiary_id = t.id
           AND o.merchant_id = %(m)s AND o.paid_at >= %(start)s AND o.paid_at < %(end)s) AS commission,
       (SELECT count(*) FROM distributors_sharevisit v
         WHERE v.merchant_id = %(m)s AND v.distributor_id = t.id
           AND v.visited_at >= %(start)s AND v.visited_at < %(end)s) AS visits
  FROM top t JOIN distributors_distributor d ON d.id = t.id
 ORDER BY t.gmv DESC, t.id
