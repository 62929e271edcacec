"""Database rules of the ledger: postings and transactions are immutable, and every transaction's
postings sum to zero per currency (checked at commit by a deferred constraint trigger)."""

from django.db import migrations

SQL = """
CREATE OR REPLACE FUNCTION ledger_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'ledger rows are immutable: % on %', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'integrity_constraint_violation';
END $$;

CREATE TRIGGER posting_immutable BEFORE UPDATE OR DELETE ON settlements_posting
    FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change();
CREATE TRIGGER ledgertransaction_immutable BEFORE UPDATE OR DELETE ON settlements_ledgertransaction
    FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change();

CREATE OR REPLACE FUNCTION ledger_check_balanced() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    legs integer;
    unbalanced text;
BEGIN
    -- merchant first: the posting index leads with it, so this is an index lookup, not a scan
    SELECT count(*) INTO legs FROM settlements_posting
     WHERE merchant_id = NEW.merchant_id AND transaction_id = NEW.id;
    IF legs < 2 THEN
        RAISE EXCEPTION 'ledger transaction % (%) has % postings; at least 2 are needed', NEW.id, NEW.reference, legs
            USING ERRCODE = 'check_violation';
    END IF;
    SELECT string_agg(currency || ' ' || total, ', ') INTO unbalanced FROM (
        SELECT currency, sum(amount) AS total FROM settlements_posting
         WHERE merchant_id = NEW.merchant_id AND transaction_id = NEW.id
         GROUP BY currency HAVING sum(amount) <> 0) s;
    IF unbalanced IS NOT NULL THEN
        RAISE EXCEPTION 'ledger transaction % (%) does not balance: %', NEW.id, NEW.reference, unbalanced
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END $$;

CREATE CONSTRAINT TRIGGER ledgertransaction_balanced AFTER INSERT ON settlements_ledgertransaction
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION ledger_check_balanced();
"""

REVERSE = """
DROP TRIGGER IF EXISTS ledgertransaction_balanced ON settlements_ledgertransaction;
DROP TRIGGER IF EXISTS ledgertransaction_immutable ON settlements_ledgertransaction;
DROP TRIGGER IF EXISTS posting_immutable ON settlements_posting;
DROP FUNCTION IF EXISTS ledger_check_balanced();
DROP FUNCTION IF EXISTS ledger_refuse_change();
"""


class Migration(migrations.Migration):
    dependencies = [("settlements", "0001_initial")]

    operations = [migrations.RunSQL(SQL, REVERSE)]
