-- One paid order ingested by hand (pgbench script for bench/ingest.py): the rows that
-- POST /api/v1/orders writes for an order of 1-2 items attributed through the customer's binding,
-- on the project's own tables, in one transaction.
--
-- Set by bench/ingest.py with -D: m (merchant), run (a number unique to this run), customers
-- (customers bc-1..bc-N are bound), pmin..pmax (product ids), expense (the merchant's commission
-- expense account), r1 and r2 (the program's depth-1 and depth-2 rates, basis points).
-- Like the API client: 1 or 2 items of distinct products, 1-3 units each at 10.00-999.99.
\set c random(1, :customers)
\set items random(1, 2)
\set pa random(:pmin, :pmax)
\set pb :pmin + (:pa - :pmin + random(1, :pmax - :pmin)) % (:pmax - :pmin + 1)
\set qa random(1, 3)
\set qb random(1, 3)
\set ua random(1000, 99999)
\set ub random(1000, 99999)
\set goods :qa * :ua + (:items - 1) * :qb * :ub
\set k random(1, 9000000000000000000)
BEGIN;
-- the Idempotency-Key is claimed first, on its unique index
INSERT INTO distribution_idempotencyrecord (merchant_id, scope, key, method, path, request_hash, created_at)
VALUES (:m, 'raw', concat(:run, '-', :client_id, '-', :k), 'POST', '/api/v1/orders',
        encode(sha256(convert_to(concat(:run, :client_id, :k, :c, :goods), 'UTF8')), 'hex'), now())
ON CONFLICT (merchant_id, scope, key) DO NOTHING
RETURNING id AS idem \gset
-- attribution: the customer's live binding, the seller and their inviter (both active)
SELECT b.distributor_id AS d1, u.id AS d2
  FROM distributors_customerbinding b
  JOIN distributors_distributor d ON d.id = b.distributor_id AND d.status = 'active'
  JOIN distributors_distributor u ON u.id = d.ancestor_ids[cardinality(d.ancestor_ids)] AND u.status = 'active'
 WHERE b.merchant_id = :m AND b.customer_external_id = concat('bc-', :c) AND b.status = 'active'
   AND b.bound_at <= now() AND (b.expires_at IS NULL OR b.expires_at > now()) \gset
-- the two pending balances, locked in id order (as the ledger does: no deadlocks between orders)
SELECT max(id) FILTER (WHERE owner_id = :d1) AS a1, max(id) FILTER (WHERE owner_id = :d2) AS a2
  FROM (SELECT id, owner_id FROM settlements_account
         WHERE merchant_id = :m AND owner_kind = 'distributor' AND kind = 'pending' AND currency = 'CNY'
           AND owner_id IN (:d1, :d2)
         ORDER BY id FOR UPDATE) l \gset
INSERT INTO orders_order (merchant_id, external_id, customer_external_id, share_code, kind, currency,
                          payment_transaction_id, status, goods_amount, shipping_amount, refunded_amount,
                          distributor_id, attribution, self_purchase, channel, province, city, fingerprint, paid_at,
                          created_at, updated_at)
VALUES (:m, concat('raw-', :run, '-', :client_id, '-', :k), concat('bc-', :c), '', 'normal', 'CNY', '', 'paid',
        :goods, 0, 0, :d1, 'binding', false, 'direct', '', '',
        encode(sha256(convert_to(concat(:k, :c, :pa, :qa, :ua, :pb, :qb, :ub), 'UTF8')), 'hex'), now(), now(), now())
RETURNING id AS oid \gset
-- each item keeps its product's category as the order is paid
INSERT INTO orders_orderitem (merchant_id, order_id, line_id, product_id, category_id, quantity, unit_price, discount,
                              paid_amount, refunded_amount, refunded_quantity)
SELECT :m, :oid, n::text, p, pr.category_id, q, u, 0, q * u, 0, 0
  FROM (VALUES (1, :pa, :qa, :ua), (2, :pb, :qb, :ub)) AS v(n, p, q, u)
  JOIN orders_product pr ON pr.id = v.p
 WHERE n <= :items;
-- the paid event, kept raw
INSERT INTO orders_orderevent (merchant_id, event_id, type, order_id, external_order_id, source, payload, fingerprint,
                               occurred_at, received_at)
SELECT :m, concat('order:', o.external_id, ':paid'), 'paid', o.id, o.external_id, 'api',
       jsonb_build_object('external_id', o.external_id, 'customer_external_id', o.customer_external_id,
                          'share_code', '', 'kind', 'normal', 'paid_at', o.paid_at, 'payment_transaction_id', '',
                          'shipping_amount', 0,
                          'items', (SELECT jsonb_agg(jsonb_build_object('line_id', line_id, 'product', p.external_id,
                                                                        'quantity', quantity, 'unit_price', unit_price,
                                                                        'discount', 0) ORDER BY line_id)
                                      FROM (VALUES (1, :pa, :qa, :ua), (2, :pb, :qb, :ub)) AS v(line_id, pid, quantity,
                                                                                              unit_price)
                                      JOIN orders_product p ON p.id = v.pid
                                     WHERE line_id <= :items)),
       o.fingerprint, o.paid_at, now()
  FROM orders_order o WHERE o.id = :oid;
-- commission: depth 1 (the seller) and depth 2 (their inviter) on each item, program rates, half up
INSERT INTO commissions_commissionline (merchant_id, order_id, order_item_id, beneficiary_id, depth, kind, status,
                                        currency, base_amount, rate_source, rate_mode, rate_value, uncapped_amount,
                                        amount, reversed_amount, created_at, updated_at)
SELECT :m, :oid, i.id, b.d, b.depth, 'commission', 'pending', 'CNY', i.paid_amount, 'program_default', 'percent',
       b.bps, (i.paid_amount * b.bps + 5000) / 10000, (i.paid_amount * b.bps + 5000) / 10000, 0, now(), now()
  FROM orders_orderitem i
 CROSS JOIN (VALUES (1, :d1, :r1), (2, :d2, :r2)) AS b(depth, d, bps)
 WHERE i.merchant_id = :m AND i.order_id = :oid;
-- the ledger: one accrual per line (expense -> the beneficiary's pending), postings, projected balances
WITH spec AS MATERIALIZED (
    SELECT nextval(pg_get_serial_sequence('settlements_ledgertransaction', 'id')) AS txn_id, l.id, l.amount,
           CASE l.beneficiary_id WHEN :d1 THEN :a1 ELSE :a2 END AS pending_id
      FROM commissions_commissionline l
     WHERE l.merchant_id = :m AND l.order_id = :oid),
t AS (
    INSERT INTO settlements_ledgertransaction (id, merchant_id, reference, kind, memo, created_at)
    SELECT txn_id, :m, concat('line:', id, ':accrue'), 'accrue', '', now() FROM spec),
p AS (
    INSERT INTO settlements_posting (merchant_id, transaction_id, account_id, amount, currency, created_at)
    SELECT :m, spec.txn_id, leg.account_id, leg.amount, 'CNY', now()
      FROM spec CROSS JOIN LATERAL (VALUES (:expense, spec.amount), (spec.pending_id, -spec.amount)) AS leg(account_id,
                                                                                                            amount))
UPDATE settlements_account a SET balance = a.balance + s.total, updated_at = now()
  FROM (SELECT pending_id, sum(amount) AS total FROM spec GROUP BY 1) s
 WHERE a.id = s.pending_id;
-- the response, kept with the key for replays
UPDATE distribution_idempotencyrecord SET response_status = 201, response_body = (
    SELECT json_build_object(
               'duplicate', false,
               'order', json_build_object(
                   'id', o.id, 'external_id', o.external_id, 'customer_external_id', o.customer_external_id,
                   'share_code', o.share_code, 'payment_transaction_id', '', 'kind', o.kind, 'currency', o.currency,
                   'status', o.status, 'goods_amount', o.goods_amount, 'shipping_amount', o.shipping_amount,
                   'refunded_amount', o.refunded_amount,
                   'distributor', json_build_object('id', d.id, 'display_name', d.display_name,
                                                    'invite_code', d.invite_code),
                   'attribution', o.attribution, 'self_purchase', o.self_purchase, 'paid_at', o.paid_at,
                   'shipped_at', NULL, 'completed_at', NULL, 'closed_at', NULL, 'created_at', o.created_at,
                   'items', (SELECT json_agg(json_build_object('line_id', i.line_id, 'product', p.external_id,
                                                               'quantity', i.quantity, 'unit_price', i.unit_price,
                                                               'discount', i.discount, 'paid_amount', i.paid_amount,
                                                               'refunded_amount', 0, 'refunded_quantity', 0)
                                             ORDER BY i.id)
                               FROM orders_orderitem i JOIN orders_product p ON p.id = i.product_id
                              WHERE i.merchant_id = :m AND i.order_id = o.id),
                   'commission_lines', (
                       SELECT json_agg(json_build_object('id', l.id, 'order_item', i.line_id, 'depth', l.depth,
                                                         'kind', l.kind,
                                                         'beneficiary', json_build_object(
                                                             'id', bd.id, 'display_name', bd.display_name,
                                                             'invite_code', bd.invite_code),
                                                         'status', l.status, 'base_amount', l.base_amount,
                                                         'rate_source', l.rate_source, 'rate_mode', l.rate_mode,
                                                         'rate_value', l.rate_value,
                                                         'uncapped_amount', l.uncapped_amount, 'amount', l.amount,
                                                         'reversed_amount', l.reversed_amount, 'unlock_at', NULL)
                                       ORDER BY l.order_item_id, l.depth)
                         FROM commissions_commissionline l
                         JOIN orders_orderitem i ON i.id = l.order_item_id
                         JOIN distributors_distributor bd ON bd.id = l.beneficiary_id
                        WHERE l.merchant_id = :m AND l.order_id = o.id)))::text
      FROM orders_order o JOIN distributors_distributor d ON d.id = o.distributor_id
     WHERE o.id = :oid)
 WHERE id = :idem;
END;
